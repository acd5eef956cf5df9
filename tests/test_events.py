"""The envelope, the catalogue and the hash-chain audit, without any server."""
import dataclasses
import json

import pytest

from shared.events import CATALOGUE, EnvelopeError, Event, SchemaViolation, check_data, check_event
from shared.events.chain import audit
from shared.events.envelope import GENESIS_HASH

HANDOUT = {
    "/intake": ["resident.registered", "resident.updated", "need.reported", "need.triaged",
                "need.withdrawn"],
    "/casework": ["case.opened", "case.goal_set", "case.closed", "session.delivered",
                  "capacity.activity_held", "volunteer.registered", "organization.formed",
                  "organization.updated",
                  "council.topic_proposed", "council.meeting_held", "council.decision_made",
                  "council.decision_progressed", "record.corrected",
                  "council.topic_supported"],  # residents' supports, RESIDENTS.md
    "/evaluation": ["contract.awarded", "contract.amended", "scorecard.published",
                    "survey.sample_drawn", "survey.wave_closed"],
}
REFERENCE_DATA = {"/intake": ["jurisdiction.updated", "agency.updated"]}
FUND = {"/casework": ["fund.set", "fund.phase_changed", "fund.project_proposed",
                      "fund.project_supported", "fund.project_reviewed",
                      "fund.objection_recorded", "fund.ballot_cast", "fund.results_published",
                      "fund.project_delivered"]}  # the community micro-fund
EVIDENCE = {"/casework": ["evidence.attached", "evidence.hidden",  # docs/EVIDENCE.md
                          "attendance.signed_in"]}  # residents' QR sign-in, RESIDENTS.md
REVIEW = {"/evaluation": ["review.sheet_defined", "review.item_self_assessed",
                          "review.item_scored", "review.item_answered",
                          "review.milestone_decided", "ledger.budget_set",
                          "ledger.expense_recorded"]}  # docs/EVALUATION.md
# free text that may name people left the bus in version 2; version 1 is still accepted
WITHOUT_FREE_TEXT = {"need.triaged": "referred_to", "record.corrected": "reason",
                     "contract.amended": "reason"}
NEED = {"need_id": "n1", "community_id": "c1", "category": "health", "urgency": "urgent",
        "safety_flag": True, "channel": "hotline", "reported_at": "2026-03-01T08:00:00Z"}


def chain(n: int, source="/intake") -> list[Event]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        event = Event.new(source=source, short_type="need.reported", subject=f"need/n{seq}",
                          data={**NEED, "need_id": f"n{seq}"}, sequence=seq, prevhash=prev)
        events.append(event)
        prev = event.hash()
    return events


def test_every_handout_event_has_a_versioned_schema_of_its_producer():
    from shared.events.catalogue import BY_TYPE
    for source, names in (*HANDOUT.items(), *REFERENCE_DATA.items(), *FUND.items(),
                          *EVIDENCE.items(), *REVIEW.items()):
        for name in names:
            spec = CATALOGUE[name]
            version = 2 if name in WITHOUT_FREE_TEXT else 1
            assert spec.source == source
            assert spec.type == f"cn.socialwork.{name}.v{version}"
            assert f"cn.socialwork.{name}.v1" in BY_TYPE
    for name, field in WITHOUT_FREE_TEXT.items():
        assert field not in CATALOGUE[name].validator.fields
        assert field in BY_TYPE[f"cn.socialwork.{name}.v1"].validator.fields
    assert len(CATALOGUE) == sum(len(v) for v in (*HANDOUT.values(),
                                                  *REFERENCE_DATA.values(), *FUND.values(),
                                                  *EVIDENCE.values(), *REVIEW.values()))


def test_wire_form_round_trips_and_orders_as_text():
    event = chain(1)[0]
    wire = json.loads(event.to_json())
    assert wire["specversion"] == "1.0" and wire["datacontenttype"] == "application/json"
    assert wire["sequence"] == "00000000000000000001"
    assert "00000000000000000010" > "00000000000000000009"
    assert Event.from_json(event.to_json()) == event


@pytest.mark.parametrize("mutate, reason", [
    (lambda w: w.pop("id"), "missing"),
    (lambda w: w.update(specversion="0.3"), "specversion"),
    (lambda w: w.update(sequence="12a"), "sequence"),
    (lambda w: w.update(sequence="0"), "sequence"),
    (lambda w: w.update(type="need.reported"), "cn.socialwork"),
    (lambda w: w.update(type="cn.socialwork.need.reported"), "version"),
    (lambda w: w.update(time="yesterday"), "RFC 3339"),
    (lambda w: w.update(data=[1, 2]), "data"),
])
def test_malformed_envelopes_are_refused_with_the_reason(mutate, reason):
    wire = json.loads(chain(1)[0].to_json())
    mutate(wire)
    with pytest.raises(EnvelopeError, match=reason):
        check_event(Event.from_dict(wire))


def test_not_json_is_refused():
    with pytest.raises(EnvelopeError, match="not JSON"):
        Event.from_json(b"\xff{not json")


def test_schema_violations_name_the_field():
    with pytest.raises(SchemaViolation) as err:
        check_data("need.reported", {**NEED, "category": "astrology", "phone": "13800000000"})
    assert set(err.value.errors) == {"category", "phone"}
    with pytest.raises(SchemaViolation, match="end must be after start"):
        check_data("council.meeting_held", {
            "meeting_id": "m", "community_id": "c", "agency_id": "a", "topic_ids": ["t"],
            "attendee_refs": [], "facilitated_by": "agency", "mode": "in_person",
            "date": "2026-03-01", "start": "10:00", "end": "09:00"})


@pytest.mark.parametrize("amount", ["12.345", "-1.00", "1000000000000.00", "NaN"])
def test_an_amount_of_money_in_an_event_is_yuan_to_the_fen_and_bounded(amount):
    """Every service's events carry money as one field: what a ledger or a fund column
    holds, never rounded on the way in."""
    expense = {"by": "u1",
               "contract_id": "k1", "expense_id": "e1", "spent_on": "2026-03-02",
               "amount": "880.50", "line": "activities", "payee_kind": "supplier",
               "receipt_digests": [], "note_sha256": "0" * 64}
    check_data("ledger.expense_recorded", expense)
    with pytest.raises(SchemaViolation) as err:
        check_data("ledger.expense_recorded", {**expense, "amount": amount})
    assert set(err.value.errors) == {"amount"}


def test_an_event_from_the_wrong_source_is_refused():
    forged = Event.new(source="/casework", short_type="need.reported", subject="need/n1",
                       data=NEED, sequence=1, prevhash=GENESIS_HASH)
    with pytest.raises(EnvelopeError, match="comes from /intake"):
        check_event(forged)


def test_intact_chain_passes_the_audit():
    report = audit("/intake", reversed(chain(5)))
    assert report.intact and report.head == 5 and report.events == 5


def test_audit_finds_gaps():
    events = chain(7)
    report = audit("/intake", events[:2] + events[4:5] + events[6:])
    assert report.gaps == [(3, 4), (6, 6)]
    assert report.breaks == []


def test_audit_finds_a_rewritten_event():
    events = chain(4)
    data = {**NEED, "need_id": "n2", "urgency": "routine"}
    rewritten = dataclasses.replace(events[1], data=data)
    report = audit("/intake", [events[0], rewritten, events[2], events[3]])
    assert report.breaks == [3]  # event 3's prevhash no longer matches event 2
    assert not report.intact


def test_audit_finds_two_histories_for_one_sequence():
    events = chain(3)
    other = chain(2)[1]
    other = dataclasses.replace(other, id="another-id")
    assert audit("/intake", events + [other]).breaks == [2]


def test_traceparent_does_not_change_the_hash():
    event = chain(1)[0]
    traced = dataclasses.replace(event, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    assert traced.hash() == event.hash()
