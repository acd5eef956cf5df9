"""Casework: the roster, cases from the intake queue, sessions, capacity building, the
council, corrections, and who may see and do what."""
import pytest
import sqlalchemy as sa

from shared.events import Event
from tests.conftest import bearer
from tests.streams import apply_events, forge, need_data

RESIDENTS = [f"r-c1-{i}" for i in range(1, 9)]


def resident_event(ref: str, community: str, seq: int) -> Event:
    return forge("resident.registered", {
        "resident_ref": ref, "community_id": community, "grid_id": f"{community}-g1",
        "household_ref": None, "household_type": "nuclear", "age_band": "35-59",
        "gender": "female", "flags": [], "registered_on": "2026-01-05"}, seq)


def contract_event(contract: str, buyer: str, agency: str, community: str, seq: int) -> Event:
    return forge("contract.awarded", {
        "contract_id": contract, "buyer_id": buyer, "agency_id": agency,
        "community_ids": [community], "period_start": "2020-01-01",
        "period_end": "2099-12-31", "budget": "300000.00"}, seq, source="/evaluation")


class World:
    def __init__(self, backend):
        self.app = backend.app("casework")
        self.client = self.app.test_client()
        seq = iter(range(1, 1000))
        apply_events(
            self.app, contract_event("k1", "b1", "a1", "c1", 1),
            contract_event("k2", "b2", "a2", "c2", 2),
            *[resident_event(r, "c1", next(seq)) for r in RESIDENTS],
            resident_event("r-c2-1", "c2", next(seq)),
            forge("need.reported", need_data("n1", "c1", resident_ref="r-c1-1",
                                             grid_id="c1-g1"), next(seq)),
            forge("need.reported", need_data("n2", "c2", resident_ref="r-c2-1",
                                             grid_id="c2-g1"), next(seq)))
        self.admin = bearer(backend.token("agency_admin", agency_id="a1", sub="admin-1"))
        self.w1 = bearer(backend.token("social_worker", agency_id="a1", sub="w1"))
        self.w2 = bearer(backend.token("social_worker", agency_id="a1", sub="w2"))
        self.other = bearer(backend.token("social_worker", agency_id="a2", sub="x1"))
        self.buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
        self.foreign_buyer = bearer(backend.token("buyer_auditor", buyer_id="b2"))
        for worker, token in (("w1", self.admin), ("w2", self.admin)):
            assert self.post("/workers", {"id": worker, "name": f"社工{worker}"},
                             token).status_code == 201
        admin2 = bearer(backend.token("agency_admin", agency_id="a2"))
        self.post("/workers", {"id": "x1", "name": "外机构社工"}, admin2)

    def post(self, path, body, token):
        return self.client.post(path, json=body, headers=token)

    def get(self, path, token):
        return self.client.get(path, headers=token)

    def events(self, short_type=None) -> list[Event]:
        store = self.app.extensions["socialwork"].store
        with self.app.app_context():
            bodies = store.session.scalars(sa.select(store.OutboxEvent.body).order_by(
                store.OutboxEvent.seq)).all()
        found = [Event.from_json(b) for b in bodies]
        return [e for e in found if short_type is None or e.short_type == short_type]


@pytest.fixture
def world(backend):
    return World(backend)


def session(**overrides):
    body = {"community_id": "c1", "method": "group_work", "topic": "老年人防诈骗小组",
            "date": "2026-03-10", "start": "09:00", "end": "11:30", "location": "社区活动室",
            "worker_ids": ["w1"], "attendee_refs": RESIDENTS[:4]}
    body.update(overrides)
    return body


def fields_of(response) -> dict:
    return response.json["error"].get("fields", {})


# -- roster and cases ----------------------------------------------------------------------

def test_only_workers_on_the_roster_record(world, backend):
    stranger = bearer(backend.token("social_worker", agency_id="a1", sub="nobody"))
    refused = world.post("/sessions", session(), stranger)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_on_roster"
    assert world.post("/workers", {"id": "w9", "name": "x"}, world.w1).status_code == 403
    world.client.patch("/workers/w2", json={"active": False}, headers=world.admin)
    assert world.post("/sessions", session(worker_ids=["w2"]), world.w2).status_code == 403
    listed = world.get("/workers", world.admin).json
    assert {(w["id"], w["active"]) for w in listed} == {("w1", True), ("w2", False)}
    assert world.client.patch("/workers/x1", json={"active": False},
                              headers=world.admin).status_code == 404


def test_a_case_from_the_queue_with_goals_notes_and_closing(world):
    queue = world.get("/intake-queue", world.w1).json
    assert [n["need_id"] for n in queue] == ["n1"]
    opened = world.post("/cases", {"need_id": "n1"}, world.w1)
    assert opened.status_code == 201 and opened.json["resident_ref"] == "r-c1-1"
    case_id = opened.json["id"]
    assert world.get("/intake-queue", world.w1).json == []
    goal = world.post(f"/cases/{case_id}/goals", {"domain": "社会支持", "baseline": -1,
                                                  "description": "每周至少一次外出社交"},
                      world.w1)
    assert goal.status_code == 201
    assert world.post(f"/cases/{case_id}/goals", {"domain": "x", "baseline": 3,
                                                  "description": "y"},
                      world.w1).status_code == 422
    assert world.post(f"/cases/{case_id}/notes", {"kind": "referral", "text": "转介"},
                      world.w1).status_code == 422
    world.post(f"/cases/{case_id}/notes", {"kind": "assessment", "text": "独居，社交少"},
               world.w1)
    incomplete = world.post(f"/cases/{case_id}/close", {"outcome": "goals_met",
                                                        "goal_outcomes": []}, world.w1)
    assert incomplete.status_code == 422 and "goal_outcomes" in fields_of(incomplete)
    closed = world.post(f"/cases/{case_id}/close", {
        "outcome": "goals_met",
        "goal_outcomes": [{"goal_id": goal.json["id"], "attainment": 1}]}, world.w1)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert world.post(f"/cases/{case_id}/goals", {"domain": "x", "baseline": 0,
                                                  "description": "y"},
                      world.w1).status_code == 409
    kinds = [e.short_type for e in world.events()]
    assert kinds == ["case.opened", "case.goal_set", "case.closed"]
    closed_event = world.events("case.closed")[0]
    assert closed_event.data["goal_outcomes"] == [{"goal_id": goal.json["id"],
                                                   "attainment": 1}]
    detail = world.get(f"/cases/{case_id}", world.w1).json
    assert detail["goals"][0]["attainment"] == 1 and detail["notes"][0]["kind"] == "assessment"
    assert world.get(f"/cases/{case_id}", world.buyer).json["notes"] == []


def test_workers_see_the_residents_of_communities_they_serve(world):
    mine = world.get("/residents", world.w1).json
    assert [r["ref"] for r in mine] == sorted(RESIDENTS)
    assert set(mine[0]) == {"ref", "community_id", "grid_id", "age_band", "gender",
                            "household_type", "flags"}
    assert [r["ref"] for r in world.get("/residents", world.other).json] == ["r-c2-1"]
    assert world.get("/residents?community_id=c2", world.w1).json == []
    assert world.get("/residents", world.buyer).status_code == 403


def test_cases_stay_within_the_agency_and_its_contracts(world):
    assert world.post("/cases", {"need_id": "n1"}, world.other).status_code == 403
    case_id = world.post("/cases", {"need_id": "n1"}, world.w1).json["id"]
    assert world.post("/cases", {"need_id": "n1"}, world.w2).status_code == 409
    assert world.get(f"/cases/{case_id}", world.other).status_code == 404
    assert world.get(f"/cases/{case_id}", world.foreign_buyer).status_code == 404
    assert world.get(f"/cases/{case_id}", world.buyer).status_code == 200
    unknown = world.post("/cases", {"resident_ref": "r-ghost", "community_id": "c1"},
                         world.w1)
    assert unknown.status_code == 422 and "resident_ref" in fields_of(unknown)
    elsewhere = world.post("/cases", {"resident_ref": "r-c2-1", "community_id": "c2"},
                           world.w1)
    assert elsewhere.status_code == 403
    assert world.post("/cases", {"need_id": "n1"}, world.buyer).status_code == 403


# -- sessions --------------------------------------------------------------------------------

def test_a_session_derives_its_hours_and_publishes_its_sign_in(world):
    created = world.post("/sessions", session(), world.w1)
    assert created.status_code == 201, created.json
    assert created.json["hours"] == 2.5
    event = world.events("session.delivered")[0]
    assert event.data["hours"] == 2.5 and event.data["attendee_refs"] == RESIDENTS[:4]
    assert event.data["start"] == "09:00" and event.data["method"] == "group_work"
    assert created.json["event_id"] == event.id


@pytest.mark.parametrize("overrides, field, zh", [
    ({"start": "11:00", "end": "10:00"}, "end", "结束时间必须晚于开始时间"),
    ({"start": "06:00", "end": "20:00"}, "end", "12小时"),
    ({"date": "2099-01-01"}, "date", "不能晚于今天"),
    ({"attendee_refs": ["r-c1-1", "r-ghost"]}, "attendee_refs", "未在本社区登记的居民：r-ghost"),
    ({"attendee_refs": ["r-c2-1"]}, "attendee_refs", "r-c2-1"),
    ({"attendee_refs": ["r-c1-1", "r-c1-1"]}, "attendee_refs", "重复"),
    ({"worker_ids": ["x1"]}, "worker_ids", "不是本机构在岗社工"),
    ({"method": "casework"}, "case_id", "个案"),
    ({"led_by": "resident"}, "leader_refs", "居民带领人"),
    ({"method": "therapy"}, "method", "必须是"),
])
def test_what_an_auditor_would_catch_is_a_422(world, overrides, field, zh):
    response = world.post("/sessions", session(**overrides), world.w1)
    assert response.status_code == 422, response.json
    assert field in fields_of(response)
    assert zh in " ".join(response.json["error"]["fields_zh"][field])
    assert world.events("session.delivered") == []


def test_a_worker_cannot_be_in_two_sessions_at_once(world):
    assert world.post("/sessions", session(), world.w1).status_code == 201
    clash = world.post("/sessions", session(start="11:00", end="12:00",
                                            worker_ids=["w2", "w1"]), world.w1)
    assert clash.status_code == 422
    assert "w1" in fields_of(clash)["worker_ids"][0] and "w2" not in fields_of(clash)[
        "worker_ids"][0]
    assert world.post("/sessions", session(start="11:30", end="12:30"),
                      world.w1).status_code == 201  # back to back is fine
    activity = {"community_id": "c1", "kind": "training", "topic": "志愿者培训",
                "date": "2026-03-10", "start": "10:00", "end": "10:30", "location": "x",
                "worker_ids": ["w1"], "led_by": "agency", "attendee_refs": []}
    assert world.post("/activities", activity, world.w1).status_code == 422


def test_casework_sessions_belong_to_an_open_case(world):
    case_id = world.post("/cases", {"need_id": "n1"}, world.w1).json["id"]
    ok = world.post("/sessions", session(method="casework", case_id=case_id,
                                         attendee_refs=["r-c1-1"]), world.w1)
    assert ok.status_code == 201
    assert world.get(f"/cases/{case_id}", world.w1).json["session_ids"] == [ok.json["id"]]


# -- capacity building -----------------------------------------------------------------------

def test_capacity_building_volunteers_and_organisations(world):
    training = world.post("/activities", {
        "community_id": "c1", "kind": "training", "topic": "议事规则培训", "date": "2026-04-01",
        "start": "14:00", "end": "16:00", "location": "社区会议室", "worker_ids": ["w1"],
        "led_by": "agency", "attendee_refs": RESIDENTS[:6]}, world.w1)
    assert training.status_code == 201 and training.json["hours"] == 2.0
    volunteer = world.post("/volunteers", {"community_id": "c1", "resident_ref": "r-c1-2",
                                           "skills": ["理发"]}, world.w1)
    assert volunteer.status_code == 201
    assert world.post("/volunteers", {"community_id": "c1", "resident_ref": "r-c1-2"},
                      world.w1).status_code == 409
    bad_org = world.post("/organizations", {
        "community_id": "c1", "name": "银龄互助队", "kind": "mutual_aid",
        "formed_on": "2026-04-15", "leader_refs": ["r-c1-8"],
        "member_refs": ["r-c1-2", "r-c1-3"]}, world.w1)
    assert bad_org.status_code == 422 and "leader_refs" in fields_of(bad_org)
    org = world.post("/organizations", {
        "community_id": "c1", "name": "银龄互助队", "kind": "mutual_aid",
        "formed_on": "2026-04-15", "leader_refs": ["r-c1-2"],
        "member_refs": ["r-c1-2", "r-c1-3", "r-c1-4"]}, world.w1).json
    led = world.post("/activities", {
        "community_id": "c1", "kind": "volunteer_service", "topic": "义剪",
        "date": "2026-05-01", "start": "09:00", "end": "11:00", "location": "广场",
        "led_by": "organization", "organization_id": org["id"], "leader_refs": ["r-c1-2"],
        "attendee_refs": ["r-c1-3", "r-c1-4", "r-c1-5"]}, world.w1)
    assert led.status_code == 201 and led.json["worker_ids"] == []
    grown = world.client.patch(f"/organizations/{org['id']}", json={
        "status": "active", "member_refs": ["r-c1-2", "r-c1-3", "r-c1-4", "r-c1-5"]},
        headers=world.w1)
    assert grown.status_code == 200
    assert [e.short_type for e in world.events()] == [
        "capacity.activity_held", "volunteer.registered", "organization.formed",
        "capacity.activity_held", "organization.updated"]
    assert world.events("organization.updated")[0].data["member_refs"][-1] == "r-c1-5"
    assert world.events("capacity.activity_held")[1].data["led_by"] == "organization"


# -- the council ---------------------------------------------------------------------------

def council_cycle(world):
    topic = world.post("/council/topics", {
        "community_id": "c1", "title": "加装电梯", "description": "老旧小区加装电梯的费用分摊",
        "proposer_kind": "resident", "proposer_ref": "r-c1-3", "need_ids": ["n1"],
        "proposed_on": "2026-05-02"}, world.w1)
    assert topic.status_code == 201, topic.json
    meeting = world.post("/council/meetings", {
        "community_id": "c1", "date": "2026-05-20", "start": "19:00", "end": "21:00",
        "location": "社区议事厅", "topic_ids": [topic.json["id"]], "facilitated_by": "resident",
        "attendee_refs": RESIDENTS[:5], "minutes": "居民充分讨论了费用分摊方案"}, world.w1)
    assert meeting.status_code == 201, meeting.json
    return topic.json, meeting.json


def decision(topic_id, **overrides):
    body = {"topic_id": topic_id, "votes_for": 3, "votes_against": 1, "abstentions": 1,
            "voter_refs": RESIDENTS[:5], "outcome": "adopted", "decision_mode": "delegated",
            "summary": "按楼层分摊，低保户减免"}
    body.update(overrides)
    return body


def test_the_council_cycle_is_recorded(world):
    topic, meeting = council_cycle(world)
    made = world.post(f"/council/meetings/{meeting['id']}/decisions", decision(topic["id"]),
                      world.w1)
    assert made.status_code == 201, made.json
    progress = f"/council/decisions/{made.json['id']}/progress"
    assert world.post(progress, {"status": "in_progress", "progress": 40,
                                 "on": "2026-07-01"}, world.w1).status_code == 201
    assert world.post(progress, {"status": "done", "progress": 90},
                      world.w1).status_code == 422
    assert world.post(progress, {"status": "done", "progress": 100, "on": "2026-09-01"},
                      world.w1).status_code == 201
    assert [p["progress"] for p in world.get(progress, world.buyer).json] == [40, 100]
    assert [e.short_type for e in world.events()] == [
        "council.topic_proposed", "council.meeting_held", "council.decision_made",
        "council.decision_progressed", "council.decision_progressed"]
    proposed = world.events("council.topic_proposed")[0].data
    assert proposed["proposer_kind"] == "resident" and proposed["proposer_ref"] == "r-c1-3"
    assert world.post(f"/council/meetings/{meeting['id']}/decisions", decision(topic["id"]),
                      world.w1).status_code == 409


@pytest.mark.parametrize("overrides, field", [
    ({"votes_for": 5}, "votes_for"),  # 7 votes, 5 attending
    ({"voter_refs": ["r-c1-1", "r-c1-2", "r-c1-3", "r-c1-4", "r-c1-8"]}, "voter_refs"),
    ({"voter_refs": RESIDENTS[:3]}, "voter_refs"),
    ({"topic_id": "not-on-agenda"}, "topic_id"),
    ({"decided_on": "2026-05-01"}, "decided_on"),
    ({"decision_mode": "dictated"}, "decision_mode"),
])
def test_decisions_that_do_not_add_up_are_refused(world, overrides, field):
    topic, meeting = council_cycle(world)
    response = world.post(f"/council/meetings/{meeting['id']}/decisions",
                          {**decision(topic["id"]), **overrides}, world.w1)
    assert response.status_code == 422 and field in fields_of(response), response.json


def test_topics_record_who_proposed_them(world):
    base = {"community_id": "c1", "title": "t", "description": "d", "proposed_on": "2026-05-02"}
    assert world.post("/council/topics", {**base, "proposer_kind": "resident"},
                      world.w1).status_code == 422
    assert world.post("/council/topics", {**base, "proposer_kind": "social_worker",
                                          "proposer_ref": "r-c1-1"}, world.w1).status_code == 422
    assert world.post("/council/topics", {**base, "proposer_kind": "party_organization",
                                          "need_ids": ["n2"]}, world.w1).status_code == 422
    ok = world.post("/council/topics", {**base, "proposer_kind": "residents_committee"},
                    world.w1)
    assert ok.status_code == 201 and ok.json["status"] == "proposed"


def test_progress_follows_only_adopted_decisions(world):
    topic, meeting = council_cycle(world)
    rejected = world.post(f"/council/meetings/{meeting['id']}/decisions",
                          decision(topic["id"], outcome="rejected"), world.w1).json
    response = world.post(f"/council/decisions/{rejected['id']}/progress",
                          {"status": "in_progress", "progress": 10}, world.w1)
    assert response.status_code == 422


# -- corrections and scope -------------------------------------------------------------------

def test_corrections_are_records_not_silent_edits(world):
    original = world.post("/sessions", session(), world.w1).json
    corrected = world.post("/corrections", {
        "record_type": "session", "record_id": original["id"],
        "reason": "签到表漏登一位居民", "changes": {"attendee_refs": RESIDENTS[:5]}}, world.w1)
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["before"] == {"attendee_refs": RESIDENTS[:4]}
    event = world.events("record.corrected")[0]
    assert event.data["corrects_event_id"] == original["event_id"]
    assert event.data["changes"] == {"attendee_refs": RESIDENTS[:5]}
    assert world.get(f"/sessions/{original['id']}", world.buyer).json["attendee_refs"] == \
        RESIDENTS[:5]
    assert [c["reason"] for c in world.get("/corrections", world.buyer).json] == [
        "签到表漏登一位居民"]
    assert world.get("/corrections", world.foreign_buyer).json == []


def test_a_corrections_free_text_stays_in_casework(world):
    """Topics, places and the reason may name people: the event carries only the corrected
    fields its record's event carries (what the measures read)."""
    original = world.post("/sessions", session(), world.w1).json
    corrected = world.post("/corrections", {
        "record_type": "session", "record_id": original["id"], "reason": "王阿姨说记错了",
        "changes": {"topic": "与王阿姨谈心", "location": "王家", "mode": "online"}}, world.w1)
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["after"]["topic"] == "与王阿姨谈心"
    event = world.events("record.corrected")[0]
    assert event.type.endswith(".v2") and "reason" not in event.data
    assert event.data["changes"] == {"mode": "online"}


@pytest.mark.parametrize("changes, field", [
    ({"worker_ids": ["w2"]}, "changes.worker_ids"),
    ({"end": "08:00"}, "end"),
    ({"attendee_refs": ["r-ghost"]}, "attendee_refs"),
    ({"start": "nine"}, "changes.start"),
    ({"attendee_refs": RESIDENTS[:4]}, "changes"),
])
def test_a_correction_is_checked_like_the_original(world, changes, field):
    original = world.post("/sessions", session(), world.w1).json
    response = world.post("/corrections", {"record_type": "session",
                                           "record_id": original["id"],
                                           "reason": "更正记录", "changes": changes}, world.w1)
    assert response.status_code == 422 and field in fields_of(response), response.json
    assert world.get(f"/sessions/{original['id']}", world.w1).json["attendee_refs"] == \
        RESIDENTS[:4]
    assert world.events("record.corrected") == []


def test_a_corrected_decision_still_adds_up(world):
    topic, meeting = council_cycle(world)
    made = world.post(f"/council/meetings/{meeting['id']}/decisions",
                      decision(topic["id"], voter_refs=[]), world.w1).json
    too_many = world.post("/corrections", {"record_type": "council_decision",
                                           "record_id": made["id"], "reason": "计票错误",
                                           "changes": {"votes_for": 9}}, world.w1)
    assert too_many.status_code == 422
    fixed = world.post("/corrections", {"record_type": "council_decision",
                                        "record_id": made["id"], "reason": "计票错误",
                                        "changes": {"votes_for": 2, "abstentions": 2}},
                       world.w1)
    assert fixed.status_code == 201


def test_buyers_read_their_contracts_evidence_and_change_nothing(world):
    mine = world.post("/sessions", session(), world.w1).json
    assert [s["id"] for s in world.get("/sessions", world.buyer).json] == [mine["id"]]
    assert world.get("/sessions", world.foreign_buyer).json == []
    assert world.get(f"/sessions/{mine['id']}", world.other).status_code == 404
    assert world.get("/sessions", world.other).json == []
    assert world.post("/sessions", session(), world.buyer).status_code == 403
    assert world.post("/corrections", {"record_type": "session", "record_id": mine["id"],
                                       "reason": "越权更正", "changes": {"location": "x"}},
                      world.other).status_code == 404
    assert world.get("/sessions?date_from=2026-04-01", world.buyer).json == []


def test_every_list_filters_by_its_own_date(world):
    case_id = world.post("/cases", {"need_id": "n1", "opened_on": "2026-02-01"},
                         world.w1).json["id"]
    assert [c["id"] for c in world.get("/cases?date_from=2026-01-15", world.w1).json] == [
        case_id]
    assert world.get("/cases?date_to=2026-01-15", world.w1).json == []
    topic, meeting = council_cycle(world)
    world.post(f"/council/meetings/{meeting['id']}/decisions", decision(topic["id"]), world.w1)
    assert len(world.get("/council/decisions?date_from=2026-05-20", world.w1).json) == 1
    assert world.get("/council/decisions?date_to=2026-05-19", world.w1).json == []
