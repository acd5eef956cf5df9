"""Nothing forged is applied, nothing malformed stops the stream. Each consumer is handed what
an attacker with broker access could publish (unsigned events, another key's signature,
content changed after signing, a sequence already held or far ahead, a link that does not
follow) through its own dispatch, on both brokers: every one is parked with the reason and
changes nothing, and the genuine stream goes on. Then, on a running platform, messages that
once wedged a worker are each followed by a good event that is applied within seconds."""
import copy
import dataclasses
import json

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import bus, keys
from shared.consumer import EventConsumer
from shared.eventlog import integrity_reports
from shared.events import Event
from shared.publisher import Publisher
from tests.helpers import count, running_platform, wait_until
from tests.streams import Chain, messaging, need_data, publish_events, publish_raw, tally


@pytest.fixture
def consumer_of(backend):
    """A service's own consumer, connected to the backend's broker, and its app."""
    opened = []

    def make(service: str):
        app = backend.app(service)
        rt = app.extensions["socialwork"]
        ctx = app.app_context()
        ctx.push()
        consumer = EventConsumer(rt.spec.name, rt.store, rt.spec.handlers, messaging(backend),
                                 rt.spec.prepare)
        conn = bus.connect(consumer.cfg)
        bus.declare(conn, *consumer.queues.all())
        consumer.control = Publisher(conn, consumer.cfg.confirm_timeout)
        opened.append((ctx, conn))
        return app, consumer
    yield make
    for ctx, conn in opened:
        conn.close()
        ctx.pop()


def parked_rows(app) -> dict:
    store = app.extensions["socialwork"].store
    rows = {row.event_id: (row.problem, row.reason)
            for row in store.session.scalars(sa.select(store.ParkedEvent))}
    store.session.rollback()  # the consumer's session: no lock held for the tests' reads
    return rows


def forged(event: Event, key=None) -> Event:
    """The event signed with a key that is not its source's."""
    key = key or Ed25519PrivateKey.generate()
    return event.signed(key, keys.key_id(key.public_key()))


def unsigned(event: Event) -> Event:
    return dataclasses.replace(event, signature=None, signingkey=None)


def changed_after_signing(event: Event) -> Event:
    return dataclasses.replace(event, data={**event.data, "community_id": "c-elsewhere"})


def test_forged_and_chain_breaking_events_are_parked_and_change_nothing(consumer_of):
    app, consumer = consumer_of("evaluation")
    intake = Chain("/intake")
    good = intake.event("need.reported", need_data("n-good", "c-forge"))
    assert consumer.dispatch(good.to_json(), "broker") == "applied"
    attempts = {  # each made beside the stream (a copy of the chain), never in it
        "unsigned": unsigned(copy.copy(intake).event("need.reported",
                                                     need_data("n-1", "c-forge"))),
        "another key": forged(Chain("/intake").event("need.reported",
                                                     need_data("n-2", "c-forge"))),
        "changed after signing": changed_after_signing(
            Chain("/intake").event("need.reported", need_data("n-3", "c-forge"))),
        "a sequence already held": Chain("/intake").event(  # the real key, a second #1
            "need.reported", need_data("n-4", "c-forge")),
        "a link that does not follow": intake.event(
            "need.reported", need_data("n-5", "c-forge"), tampered=True),
        "a type from the wrong source": forged(Event.new(
            source="/casework", short_type="need.reported", subject="forged",
            data=need_data("n-6", "c-forge"), sequence=1, prevhash="0" * 64),
            keys.signing_key("intake")),
        "far ahead, unsigned": unsigned(dataclasses.replace(
            intake.event("need.reported", need_data("n-7", "c-forge"), tampered=True),
            sequence=1_003_837)),
    }
    for attempt, event in attempts.items():
        assert consumer.dispatch(event.to_json(), "broker") == "parked", attempt
    parked = parked_rows(app)
    assert {parked[e.id][0] for e in attempts.values()} <= {"forged", "conflict"}
    assert "not signed" in parked[attempts["unsigned"].id][1]
    assert "does not match" in parked[attempts["changed after signing"].id][1]
    assert "after its place" in parked[attempts["a sequence already held"].id][1]
    assert "does not follow" in parked[attempts["a link that does not follow"].id][1]
    assert tally(app, "c-forge") == 1 and tally(app, "c-elsewhere") == 0
    (chain,) = [r for r in integrity_reports(app.extensions["socialwork"])
                if r["source"] == "/intake"]
    assert chain["verified"] == chain["head"] == 1 and chain["gaps"] == []  # no gap invented
    assert chain["breaks"] == [1, 2]  # the refused ones, until ops resolve them
    # the genuine stream goes on from where it was
    after = intake.event("need.reported", need_data("n-after", "c-forge"))
    assert consumer.dispatch(after.to_json(), "broker") == "applied"
    assert tally(app, "c-forge") == 2


def test_a_forged_sample_releases_no_contact(consumer_of):
    app, consumer = consumer_of("intake")
    from services.intake.models import SurveyRelease
    draw = Chain("/evaluation").event("survey.sample_drawn", {
        "contract_id": "k1", "wave_id": "w-forged", "seed": 1, "resident_refs": ["r-1"],
        "release_until": "2099-12-31"})
    for attempt in (unsigned(draw), forged(draw), changed_after_signing(dataclasses.replace(
            draw, data={**draw.data, "resident_refs": ["r-2"]}))):
        assert consumer.dispatch(attempt.to_json(), "broker") == "parked"
    assert count(app, SurveyRelease) == 0


def test_a_forged_award_grants_no_community(consumer_of):
    app, consumer = consumer_of("casework")
    from services.casework.models import ServedCommunity
    award = Chain("/evaluation").event("contract.awarded", {
        "contract_id": "k-forged", "buyer_id": "b1", "agency_id": "a-rogue",
        "community_ids": ["c1"], "period_start": "2020-01-01", "period_end": "2099-12-31",
        "budget": "1.00"})
    for attempt in (unsigned(award), forged(award)):
        assert consumer.dispatch(attempt.to_json(), "broker") == "parked"
    assert count(app, ServedCommunity) == 0
    assert consumer.dispatch(award.to_json(), "broker") == "applied"  # the genuine one
    assert count(app, ServedCommunity) == 1


def test_a_genuine_event_ahead_waits_for_the_one_before_it(consumer_of):
    app, consumer = consumer_of("evaluation")
    intake = Chain("/intake")
    first, second, third = (intake.event("need.reported", need_data(f"w-{i}", "c-wait"))
                            for i in range(3))
    assert consumer.dispatch(first.to_json(), "broker") == "applied"
    assert consumer.dispatch(third.to_json(), "broker") == "waiting"
    assert tally(app, "c-wait") == 1  # not applied out of chain
    assert consumer.dispatch(second.to_json(), "backfill") == "applied"
    consumer.drain()
    assert tally(app, "c-wait") == 3


WEDGES = {
    "deeply nested": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "a number of 5,000 digits": b'{"sequence": ' + b"9" * 5000 + b"}",
    "a superscript sequence": None,  # made from a real event below
    "Infinity": None,
    "an overlong id": None,
    "a sequence above 2^63": None,
    "not UTF-8": b"\xff\xfe{\x00",
    "a lone surrogate": b'{"id": "\\ud800", "source": "/intake"}',
    "too large": b'{"pad": "' + b"x" * (300 * 1024) + b'"}',
}


def _wedges(template: Event) -> dict:
    raw = json.loads(template.to_json())
    made = {**WEDGES}
    made["a superscript sequence"] = json.dumps({**raw, "sequence": "²"})
    made["Infinity"] = json.dumps({**raw, "data": {**raw["data"], "urgency": float("inf")}})
    made["an overlong id"] = json.dumps({**raw, "id": "x" * 5000})
    made["a sequence above 2^63"] = json.dumps({**raw, "sequence": str(2**64)})
    return made


@pytest.mark.slow
def test_each_wedge_is_parked_and_the_next_good_event_applied(isolated, tmp_path):
    b = isolated
    evaluation = b.app("evaluation")
    intake = Chain("/intake")
    with running_platform(b, tmp_path):
        for n, (name, body) in enumerate(_wedges(intake.event(
                "need.reported", need_data("template", "c-x"), tampered=True)).items()):
            publish_raw(b, "need.reported", [body])
            publish_events(b, intake.event("need.reported", need_data(f"ok-{n}", "c-wedge")))
            wait_until(lambda: tally(evaluation, "c-wedge") == n + 1, 30,
                       f"the good event after {name}")
        store = evaluation.extensions["socialwork"].store
        wait_until(lambda: count(evaluation, store.ParkedEvent) == len(WEDGES), 30,
                   "every wedge parked")


def fund_set(fund_id: str, **changes) -> dict:
    return {"fund_id": fund_id, "agency_id": "a1", "community_id": "c-fund", "year": 2026,
            "amount": "50000.00", "proposers": ["resident"], "min_supports": 1,
            "voting_rule": "approval", "notice_days": 7,
            "phases": {"proposing": "2026-03-01", "voting": "2026-04-01"}, **changes}


def test_forged_fund_review_and_ledger_events_are_parked_and_change_nothing(consumer_of):
    """The types added with the micro-fund, the expert review and the ledger: evaluation
    takes fund.* from casework only as casework signed them, in their chain and of their
    schema, and takes no review.* or ledger.* from the bus at all (its own, kept from its
    outbox); each is parked with the reason, and the fund and the ledger stay as they were."""
    from services.evaluation.models import (FundBallotFact, FundFact, LedgerBudget,
                                            LedgerExpense, ReviewItem)
    app, consumer = consumer_of("evaluation")
    casework, evaluation = Chain("/casework"), Chain("/evaluation")
    ballot = {"ballot_id": "v-1", "fund_id": "f-real", "community_id": "c-fund",
              "resident_ref": "r-1", "channel": "online", "project_ids": ["p-1"],
              "cast_on": "2026-04-02"}
    attempts = {
        "unsigned": unsigned(copy.copy(casework).event("fund.set", fund_set("f-1"))),
        "another key": forged(Chain("/casework").event("fund.set", fund_set("f-2"))),
        "intake's key": forged(Chain("/casework").event("fund.set", fund_set("f-3")),
                               keys.signing_key("intake")),
        "changed after signing": dataclasses.replace(
            Chain("/casework").event("fund.set", fund_set("f-4")),
            data=fund_set("f-4", amount="99999999.00")),
        "a link that does not follow": casework.event("fund.set", fund_set("f-5"),
                                                      tampered=True),
        "a ballot nobody cast, unsigned": unsigned(copy.copy(casework).event(
            "fund.ballot_cast", ballot)),
        "a review score from the bus": evaluation.event("review.item_scored", {
            "by": "expert-x", "contract_id": "k1", "milestone_id": "m1",
            "item_key": "outcomes", "sheet_version": 1, "points": "30",
            "note_sha256": "0" * 64, "record_ids": [], "file_digests": []}),
        "a ledger entry from the bus": evaluation.event("ledger.expense_recorded", {
            "by": "admin-x", "contract_id": "k1", "expense_id": "e-x",
            "spent_on": "2026-02-01", "amount": "1.00", "line": "other",
            "payee_kind": "other", "receipt_digests": [], "note_sha256": "0" * 64}),
        "a budget from the bus": evaluation.event("ledger.budget_set", {
            "by": "auditor-x", "contract_id": "k1", "version": 1, "lines": []}),
    }
    for attempt, event in attempts.items():
        assert consumer.dispatch(event.to_json(), "broker") == "parked", attempt
    parked = parked_rows(app)
    assert set(parked) >= {e.id for e in attempts.values()}
    assert "not signed" in parked[attempts["unsigned"].id][1]
    assert "does not match" in parked[attempts["changed after signing"].id][1]
    assert "does not follow" in parked[attempts["a link that does not follow"].id][1]
    for attempt in ("a review score from the bus", "a ledger entry from the bus"):
        assert parked[attempts[attempt].id][1], attempt  # a reason is given
    assert [count(app, t) for t in (FundFact, FundBallotFact, LedgerBudget, LedgerExpense,
                                    ReviewItem)] == [0] * 5

    # a genuine fund in its place; then one of a wrong schema, signed by casework, in order
    assert consumer.dispatch(casework.event("fund.set", fund_set("f-real")).to_json(),
                             "broker") == "applied"
    for wrong in (fund_set("f-neg", amount="-1.00"), fund_set("f-fen", amount="1.001"),
                  fund_set("f-extra", unknown="x"), fund_set("f-year", year=10**9)):
        assert consumer.dispatch(casework.event("fund.set", wrong).to_json(),
                                 "broker") == "parked", wrong
    assert count(app, FundFact) == 1
