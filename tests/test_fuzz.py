"""Property-based fuzzing of every operation each service's /openapi.json lists
(schemathesis): inputs that fit the schema and inputs that break it, each sent with a valid
token of a role the authorization matrix lets through it (in the records' scope or outside
it; the matrix test sends every role), into the
records of the authorization matrix, and valid inputs with one field replaced by a value
found from outside to break a service (HOSTILE). No input may give a 5xx. Bounded in time:
a few examples per operation and mode, no shrinking (what failed is listed with its input
instead). On the embedded backend; the inputs PostgreSQL alone refuses (NUL) are
sent on both by tests/test_input_limits.py."""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.core.errors import UnsupportedSchema

from shared import auth
from tests.conftest import bearer
from tests.test_authorization import COMMON, PUBLIC, WORLDS, token_at

EXAMPLES = 4  # per operation and mode: the three services in about a minute of CPU


def _nested(depth: int):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


# what was found from outside to break a service, put in place of one field of a valid input
# (non-finite numbers are not JSON a client sends: tests/test_input_limits.py sends them raw)
HOSTILE = ["a\x00b", "a\ud800b", "\udfff", 10**25, -(10**25),
           2**63, 10**4000, 1e308, "1e999999", "Infinity", "²", "9999-12-31", "0001-01-01",
           "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "=1+2", "x" * 100_000,
           ["c1"] * 2, [f"c{i}" for i in range(10_000)], _nested(200), {"": {"": None}},
           None, True, "", [], {}]


def _spec(world, service: str):
    ops = bearer(auth.mint("ops_admin", "fuzz", issuer=service))
    return schemathesis.openapi.from_wsgi("/openapi.json", world.app, headers=ops)


def _headers(backend, world, service: str, role: str, outside: bool) -> dict:
    claims = world.scopes.get(role, ({}, {}))[outside]
    return token_at(backend, service, role, claims) or bearer(backend.token(role, **claims))


def _allowed(world, operation) -> list[str]:
    """The roles the matrix lets through this operation (any role, if it is public): the
    others are refused before their input is read, which the matrix test covers."""
    row = {**COMMON, **world.table}[(operation.method.upper(), operation.path)]
    return list(auth.ROLES) if row == PUBLIC else sorted(row)


def _fuzz(operation, mode, send) -> None:
    known = {k: v for k, v in send.world.params.items()
             if k in {p.name for p in operation.path_parameters}}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode),
           role=st.sampled_from(_allowed(send.world, operation)), outside=st.booleans(),
           real_ids=st.booleans(), hostile=st.sampled_from([None, *HOSTILE]),
           at=st.integers(0, 99))
    def run(case, role, outside, real_ids, hostile, at):
        if real_ids and known:
            case.path_parameters = {**(case.path_parameters or {}), **known}
        send(case, role, outside, None if hostile is None else _planted(case, hostile, at))
    run()


def _planted(case, value, at: int):
    """The case's JSON body (or query) with `value` in place of one of its fields, or None
    when it has neither. Sent as raw JSON: schemathesis cannot hold a lone surrogate."""
    if isinstance(case.body, dict) and case.body:
        key = sorted(case.body)[at % len(case.body)]
        return {"data": json.dumps({**case.body, key: value}),
                "content_type": "application/json", "query_string": case.query}
    if isinstance(case.query, dict) and case.query and not isinstance(value, (list, dict)):
        text = value if isinstance(value, str) else str(value)
        if text.encode("utf-8", "replace").decode() != text:
            return None  # a lone surrogate cannot be put in a URL at all
        key = sorted(case.query)[at % len(case.query)]
        return {"query_string": {**case.query, key: text}}
    return None


@pytest.mark.parametrize("service", WORLDS)
def test_no_input_gives_a_server_error(embedded, service):
    world = WORLDS[service](embedded)
    failures, unsupported = [], []

    client = world.app.test_client()

    def send(case, role, outside, planted):
        headers = _headers(embedded, world, service, role, outside)
        response = case.call(headers=headers) if planted is None else client.open(
            case.formatted_path, method=case.method, headers=headers, **planted)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} as {role}: "
                            f"{response.status_code}\n  query={case.query!r}\n"
                            f"  body={case.body!r}\n  planted={planted!r}"[:900])
    send.world = world
    for result in _spec(world, service).get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, send)
            except UnsupportedSchema:  # schemathesis cannot break some nested schemas
                unsupported.append(f"{operation.method.upper()} {operation.path} ({mode})")
    assert unsupported == [], "operations schemathesis could not generate for"
    assert failures == [], f"{len(failures)} server errors:\n" + "\n".join(failures[:30])
