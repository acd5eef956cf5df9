"""Bearer tokens: who the caller is, in which role, over which scope, who vouches for it and
for which services. JWTs signed with the issuing service's Ed25519 key (PyJWT, EdDSA; the
keys in shared/keys.py), so a service accepts only what a service that may vouch for the
caller signed, for it.

Claims: iss (the issuing service), aud (the services it is for), sub, role, kind, iat, exp
and the scope claim the role needs:
  intake_clerk   community_ids   the communities whose residents and needs it keeps
  social_worker  agency_id       its agency's records
  agency_admin   agency_id       its agency's records and workers
  buyer_auditor  buyer_id        its contracts; read-only on casework evidence
  evaluator      contract_id     the independent evaluator the buyer commissioned for one
                                 contract: its survey waves, and the contacts of their samples
  ops_admin      -               operations: event logs, dead letters, access logs
  service        -               one service reading another's event log (backfill)
  resident       community_ids   a resident acting for themselves (the residents' channel):
                                 `sub` is the pseudonymous resident_ref, one community, and
                                 the token is only for the resident doors (`<service>:residents`)
Kinds, each with its longest life: `session` (a person), `service` (one service calling
another) and `name_search` (casework's browser searching names at intake, nothing else).
A `file_link` is no caller's token: a service signs it for itself, to open one file of one
record for a few minutes (an <img> cannot send a bearer header); it is never accepted as a
bearer token.
"""
import functools
import time
from dataclasses import dataclass

import jwt
from flask import current_app, g, request

from . import keys
from .config import SERVICES
from .errors import ApiError
from .runtime import current_service

ALGORITHM = "EdDSA"
SCOPE_CLAIM = {"intake_clerk": "community_ids", "social_worker": "agency_id",
               "agency_admin": "agency_id", "buyer_auditor": "buyer_id",
               "evaluator": "contract_id", "resident": "community_ids"}
ROLES = (*SCOPE_CLAIM, "ops_admin", "service")
KINDS = {"session": 12 * 3600, "service": 5 * 60, "name_search": 15 * 60}  # longest lives
SESSION_TTL = 8 * 3600
LEEWAY = 60  # seconds of clock difference between machines
# who vouches for each role: a person's token comes from the service they work in
HOME = {"intake_clerk": "intake", "social_worker": "casework", "agency_admin": "casework",
        "buyer_auditor": "evaluation", "evaluator": "evaluation", "resident": "intake"}
ISSUERS = {**{role: {home} for role, home in HOME.items()},
           "ops_admin": set(SERVICES), "service": set(SERVICES)}
# the services a person's token is for, by role
AUDIENCES = {"intake_clerk": ("intake",), "social_worker": ("casework", "evaluation"),
             "agency_admin": ("casework", "evaluation"),
             "buyer_auditor": ("evaluation", "casework"), "evaluator": ("evaluation", "intake"),
             "ops_admin": SERVICES, "service": SERVICES,
             "resident": ("intake:residents", "casework:residents")}
# A resident's token opens only the resident doors: the audience `<service>:residents`, which
# no other role's token names and no other endpoint accepts (docs/RESIDENTS.md).
RESIDENT_DOOR = ":residents"
# Intake keeps the personal data: it accepts only tokens it issued itself, but for two
# narrow doors of other services (casework's name search, evaluation's evaluator reading
# its survey sample's contacts: each bounded and logged, docs/AUTH.md) and backfill.
PERSONAL_DATA_SERVICE = "intake"
# a file link carries its own token (read_file_link), since an <img> sends no header
PUBLIC_ENDPOINTS = {"health.healthz", "health.readyz", "static", "file_links.open"}
MAX_COMMUNITIES = 500


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    community_ids: tuple[str, ...] = ()
    agency_id: str | None = None
    buyer_id: str | None = None
    contract_id: str | None = None
    iss: str = ""
    aud: tuple[str, ...] = ()
    kind: str = "session"


def check_scope(role: str, **scope) -> None:
    """ValueError unless `role` is known and `scope` has the claim the role needs."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    needed = SCOPE_CLAIM.get(role)
    if needed and not scope.get(needed):
        raise ValueError(f"role {role} needs the {needed} claim")


def mint(role: str, sub: str, *, issuer: str, audience=None, kind: str = "session",
         ttl: int | None = None, key=None, **scope) -> str:
    """A token `issuer` vouches for, signed with its key (or `key`, given explicitly)."""
    check_scope(role, **scope)
    if issuer not in ISSUERS[role]:
        raise ValueError(f"{issuer} may not issue {role} tokens; "
                         f"{', '.join(sorted(ISSUERS[role]))} may")
    ttl = ttl or (SESSION_TTL if kind == "session" else KINDS[kind])
    if ttl > KINDS[kind]:
        raise ValueError(f"a {kind} token lives at most {KINDS[kind]} seconds")
    key = key or keys.signing_key(issuer)
    now = int(time.time())
    payload = {"iss": issuer, "aud": list(audience or AUDIENCES[role]), "sub": sub,
               "role": role, "kind": kind, "iat": now, "exp": now + ttl}
    payload.update({k: (list(v) if k == "community_ids" else v)
                    for k, v in scope.items() if v})
    return jwt.encode(payload, key, algorithm=ALGORITHM,
                      headers={"kid": keys.key_id(key.public_key())})


FILE_LINK_TTL = 5 * 60


def mint_file_link(record: str, digest: str, variant: str, ttl: int = FILE_LINK_TTL) -> str:
    """A link token this service signs for itself: `variant` of file `digest` on `record`
    (`type/id`), for at most FILE_LINK_TTL seconds. The caller checked the reader's scope."""
    service = current_service().spec.name
    key = keys.signing_key(service)
    now = int(time.time())
    payload = {"iss": service, "aud": [service], "sub": record, "kind": "file_link",
               "digest": digest, "variant": variant, "iat": now,
               "exp": now + min(ttl, FILE_LINK_TTL)}
    return jwt.encode(payload, key, algorithm=ALGORITHM,
                      headers={"kid": keys.key_id(key.public_key())})


def read_file_link(token: str) -> tuple[str, str, str]:
    """(record, digest, variant) of a link this service signed; 401 otherwise."""
    service = current_service().spec.name
    try:
        header = jwt.get_unverified_header(token)
        key = keys.public_keys(service).get(header.get("kid"))
        if key is None:
            raise jwt.InvalidTokenError(f"not signed with a key of {service}")
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], audience=service,
                             issuer=service, leeway=LEEWAY,
                             options={"require": ["sub", "kind", "iat", "exp"]})
    except jwt.ExpiredSignatureError:
        raise _expired()
    except jwt.InvalidTokenError as exc:
        raise _invalid(str(exc))
    fields = [payload.get(k) for k in ("sub", "digest", "variant")]
    if payload["kind"] != "file_link" or not all(isinstance(f, str) for f in fields) or \
            payload["exp"] - payload["iat"] > FILE_LINK_TTL + LEEWAY:
        raise _invalid("not a file link")
    return tuple(fields)


def decode(token: str, service: str) -> Claims:
    """The claims of a token `service` accepts; a 401 with the reason otherwise."""
    claims, expires = _verified(service, token)
    if expires <= time.time():  # a cached token expires as an uncached one would
        raise _expired()
    return claims


def _expired() -> ApiError:
    return ApiError(401, "The token has expired", "访问令牌已过期", code="token_expired")


def _invalid(reason: str) -> ApiError:
    return ApiError(401, f"Invalid token: {reason}", "访问令牌无效", code="token_invalid")


@functools.lru_cache(maxsize=4096)
def _verified(service: str, token: str) -> tuple[Claims, float]:
    """The claims of a token whose signature and claims hold, and when it expires. A client
    sends the same token with every request; checking it again cost more than some of the
    requests it came with. Only valid tokens are kept (an error is raised, never cached)."""
    try:
        header = jwt.get_unverified_header(token)
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError as exc:
        raise _invalid(str(exc))
    if not isinstance(issuer, str) or issuer not in SERVICES:
        raise _invalid("unknown issuer")
    key = keys.public_keys(issuer).get(header.get("kid") if isinstance(header, dict) else None)
    if key is None:
        raise _invalid(f"not signed with a key of {issuer}")
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], audience=service,
                             issuer=issuer, leeway=LEEWAY,
                             options={"require": ["iss", "aud", "sub", "role", "kind",
                                                  "iat", "exp"]})
    except jwt.ExpiredSignatureError:
        raise _expired()
    except jwt.InvalidTokenError as exc:
        raise _invalid(str(exc))
    return _claims(payload, service), float(payload["exp"])


def _text(payload: dict, key: str, longest: int, required: bool = False) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise _invalid(f"{key} must be a string of 1 to {longest} characters")
    return value


def _claims(payload: dict, service: str) -> Claims:
    """Every claim checked for type and vocabulary, and against who may vouch for whom."""
    role, kind, issuer = payload["role"], payload["kind"], payload["iss"]
    if role not in ROLES or kind not in KINDS:
        raise _invalid("unknown role or kind")
    if not all(isinstance(payload[k], (int, float)) for k in ("iat", "exp")):
        raise _invalid("iat and exp must be numbers")
    if payload["exp"] - payload["iat"] > KINDS[kind] + LEEWAY:
        raise _invalid(f"a {kind} token lives at most {KINDS[kind]} seconds")
    if payload["iat"] > time.time() + LEEWAY:
        raise _invalid("issued in the future")
    if (kind == "service") != (role == "service"):
        raise _invalid("only a service token has the service role")
    if issuer not in ISSUERS[role]:
        raise _invalid(f"{issuer} may not vouch for a {role}")
    audience = payload["aud"]
    if kind == "name_search" and (role not in ("social_worker", "agency_admin")
                                  or audience != [PERSONAL_DATA_SERVICE]):
        raise _invalid("a name-search token is an agency worker's, for intake only")
    if service == PERSONAL_DATA_SERVICE and issuer != service and \
            kind not in ("name_search", "service") and role != "evaluator":
        raise _invalid(f"{service} accepts {role} tokens only from itself")
    communities = payload.get("community_ids") or []
    if not isinstance(communities, list) or len(communities) > MAX_COMMUNITIES or not all(
            isinstance(c, str) and 1 <= len(c) <= 64 for c in communities):
        raise _invalid(f"community_ids must be a list of at most {MAX_COMMUNITIES} ids")
    claims = Claims(sub=_text(payload, "sub", 120, required=True), role=role,
                    community_ids=tuple(communities),
                    agency_id=_text(payload, "agency_id", 64),
                    buyer_id=_text(payload, "buyer_id", 64),
                    contract_id=_text(payload, "contract_id", 64), iss=issuer,
                    aud=tuple(audience) if isinstance(audience, list) else (audience,),
                    kind=kind)
    needed = SCOPE_CLAIM.get(role)
    if needed and not getattr(claims, needed):
        raise _invalid(f"a {role} token names its {needed}")
    _check_resident_door(claims, service)
    return claims


def resident_door(service: str) -> str:
    """The audience of a service's resident endpoints."""
    return service + RESIDENT_DOOR


def _check_resident_door(claims: Claims, service: str) -> None:
    """A resident's token is for the resident doors alone, and names one community; a
    resident door takes nobody else's."""
    doors = [a for a in claims.aud if isinstance(a, str) and a.endswith(RESIDENT_DOOR)]
    if claims.role == "resident":
        if len(claims.community_ids) != 1 or len(doors) != len(claims.aud):
            raise _invalid("a resident token names one community, for resident doors only")
    elif doors or service.endswith(RESIDENT_DOOR):
        raise _invalid("a resident door takes residents' tokens only")


def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    if request.blueprint in current_app.extensions.get("session_blueprints", ()):
        return  # the pages: a login session holds the token (shared/web)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > 8192:
        raise ApiError(401)
    g.claims = accepted(token.strip())


def accepted(token: str) -> Claims:
    """The claims of a token this service accepts, here and now: signed, for it, of a kind
    allowed on this endpoint, and of a caller its own records do not refuse."""
    spec = current_service().spec
    door = request.blueprint in spec.resident_blueprints
    claims = decode(token, resident_door(spec.name) if door else spec.name)
    endpoints = spec.token_endpoints.get(claims.kind)
    if endpoints is not None and request.endpoint not in endpoints:
        raise ApiError(403, f"A {claims.kind} token is good for nothing else",
                       "该令牌不能用于此操作", code="wrong_token_kind")
    check_caller(claims)
    return claims


def check_caller(claims: Claims) -> None:
    """The service's own records may refuse a caller whose token is still valid: a worker
    off the roster, a disabled account (each check raises an ApiError)."""
    for check in current_app.extensions.get("caller_checks", ()):
        check(claims)


def init_app(app) -> None:
    app.before_request(_authenticate)


def claims() -> Claims:
    return g.claims


def require(*roles: str) -> Claims:
    """The caller's claims, if its role is one of `roles`; 403 otherwise."""
    current = claims()
    if current.role not in roles:
        raise ApiError(403, f"Role {current.role} may not do this; allowed: {', '.join(roles)}",
                       f"角色 {current.role} 无权执行此操作")
    return current
