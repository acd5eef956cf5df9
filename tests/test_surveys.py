"""Surveys: instruments scored by their rules (worked out by hand here), a sample drawn
reproducibly from its seed and stratified, responses checked against the wave and the
sample, the change from the baseline with its interval and by participation rung, the
scorecard's survey indicators, and the contacts path through intake."""
import math
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from scipy import stats

from services.evaluation import instruments, surveys
from shared import clock
from shared.events import Event
from tests.conftest import bearer, remember_pii
from tests.helpers import register_jurisdiction, running_platform, seed_community, wait_until
from tests.streams import apply_events, forge, grant

SPC = instruments.SOCIOPOLITICAL_CONTROL
SAT = instruments.SERVICE_SATISFACTION


def at_level(definition: dict, level: int) -> dict:
    """Answers that score `level` on every subscale (reverse items answered mirrored)."""
    return {i["key"]: 6 - level if i["reverse"] else level for i in definition["items"]}


# -- scoring -----------------------------------------------------------------------------------

def test_a_hand_scored_response_set():
    answers = {"lc1": 4, "lc2": 5, "lc3": 3, "lc4": 2, "lc5": 1, "lc6": None,
               "pc1": 3, "pc2": 4, "pc3": 2, "pc4": 4, "pc5": 5, "pc6": 3}
    assert instruments.problems(SPC, answers) == {}
    # lc4, lc5 reversed: 6-2=4, 6-1=5; lc6 skipped -> (4+5+3+4+5)/5 = 4.2
    # pc4, pc5 reversed: 6-4=2, 6-5=1 -> (3+4+2+2+1+3)/6 = 2.5; total (4.2+2.5)/2 = 3.35
    assert instruments.score(SPC, answers) == {
        "subscales": {"leadership_competence": 4.2, "policy_control": 2.5}, "total": 3.35}
    satisfaction = {"sq1": 5, "sq2": 4, "sq3": 2, "rs1": None, "rs2": 3, "ov1": 4, "ov2": 5,
                    "ov3": None}
    # quality (5+4+(6-2))/3 = 13/3; responsiveness 3; overall (4+5)/2 = 4.5
    # total (4.3333+3+4.5)/3 = 3.9444: below satisfied_at (4)
    assert instruments.score(SAT, satisfaction) == {
        "subscales": {"quality": 4.3333, "responsiveness": 3.0, "overall": 4.5},
        "total": 3.9444}


def test_answers_that_cannot_be_scored_are_named():
    answers = {**at_level(SPC, 3), "lc1": 6, "lc2": "a", "lc3": True, "xx": 3,
               "pc1": None, "pc2": None}
    found = instruments.problems(SPC, answers)
    assert found["answers.lc1"] == [
        "Must be greater than or equal to 1 and less than or equal to 5."]
    assert found["answers.lc2"] == found["answers.lc3"] == ["Not a valid integer."]
    assert found["answers.xx"] == ["Unknown item"]
    # policy control: 4 of 6 answered, 5 needed: each unanswered item says so
    assert found["answers.pc1"] == found["answers.pc2"] == [
        "Missing answer: policy_control needs at least 5 of its 6 items answered"]
    assert set(found) == {"answers.lc1", "answers.lc2", "answers.lc3", "answers.xx",
                          "answers.pc1", "answers.pc2"}


# -- the draw ----------------------------------------------------------------------------------

def test_allocation_is_proportional_by_largest_remainder():
    # 4 of 10: exact shares 2.0, 1.2, 0.8 -> floors 2, 1, 0; the one left goes to c (0.8)
    assert surveys.allocate({"a": 5, "b": 3, "c": 2}, 4) == {"a": 2, "b": 1, "c": 1}


def test_the_draw_is_reproducible_from_its_seed_and_stratified():
    grids = ["g1"] * 15 + ["g2"] * 10 + ["g3"] * 5
    residents = [SimpleNamespace(ref=f"r{i:02d}", grid_id=g, age_band="60-69" if i % 2
                                 else "35-59") for i, g in enumerate(grids)]
    drawn = surveys.draw(residents, 6, 42, ("grid_id",))
    assert {s: len(refs) for s, refs in drawn.items()} == {
        "grid_id=g1": 3, "grid_id=g2": 2, "grid_id=g3": 1}
    by_ref = {r.ref: r for r in residents}
    assert all(by_ref[ref].grid_id == stratum.split("=")[1]
               for stratum, refs in drawn.items() for ref in refs)
    assert surveys.draw(list(reversed(residents)), 6, 42, ("grid_id",)) == drawn
    others = {str(surveys.draw(residents, 6, seed, ("grid_id",))) for seed in range(5)}
    assert len(others) > 1  # the seed decides
    both = surveys.draw(residents, 10, 7, ("grid_id", "age_band"))
    assert sum(map(len, both.values())) == 10 and len(both) == 6


# -- waves, responses and scores in one service ----------------------------------------------

PERIOD = {"period_start": "2026-01-01", "period_end": "2026-12-31"}


def resident(i: int, grid: str):
    return ("resident.registered", {
        "resident_ref": f"r{i}", "community_id": "c1", "grid_id": grid, "household_ref": None,
        "household_type": "nuclear", "age_band": "60-69", "gender": "female", "flags": [],
        "registered_on": "2026-01-10"})


def session(sid: str, day: str, attendees: list, leaders: list):
    return ("session.delivered", {
        "agency_id": "a1", "community_id": "c1", "session_id": sid, "method": "group_work",
        "mode": "in_person", "case_id": None, "worker_ids": ["w1"],
        "led_by": "resident" if leaders else "agency", "leader_refs": leaders,
        "attendee_refs": attendees, "date": day, "start": "09:00", "end": "11:00",
        "hours": 2.0})


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    grant(app)
    story = [*(resident(i, "g1" if i <= 4 else "g2") for i in range(1, 7)),
             session("s1", "2026-05-01", ["r1"], []), session("s2", "2026-06-01", [], ["r2"])]
    events = [forge(short, data, source="/intake" if short.startswith("resident")
                    else "/casework") for short, data in story]
    assert apply_events(app, *events) == ["applied"] * len(events)
    client = app.test_client()
    buyer = bearer(backend.token("buyer_auditor", buyer_id="b1"))
    assert client.post("/contracts", headers=buyer, json={
        "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "budget": "100000",
        **PERIOD}).status_code == 201
    return SimpleNamespace(app=app, client=client, buyer=buyer, backend=backend,
                           evaluator=bearer(backend.token("evaluator", contract_id="k1",
                                                          sub="eval-1")))


def outbox_events(app, short: str) -> list[Event]:
    store = app.extensions["socialwork"].store
    with app.app_context():
        bodies = store.session.scalars(sa.select(store.OutboxEvent.body).where(
            store.OutboxEvent.type == short).order_by(store.OutboxEvent.seq)).all()
    return [Event.from_json(b) for b in bodies]


def test_waves_sample_responses_change_and_the_scorecard(evaluation):
    e, c = evaluation, evaluation.client
    waves = "/contracts/k1/waves"
    follow_first = c.post(waves, headers=e.evaluator, json={
        "id": "w-f", "kind": "follow_up", "opens_on": "2026-10-01", "closes_on": "2026-11-30"})
    assert follow_first.status_code == 422 and "kind" in follow_first.json["error"]["fields"]
    assert c.post(waves, headers=e.buyer, json={
        "id": "w-b", "kind": "baseline", "opens_on": "2026-02-01",
        "closes_on": "2026-03-31"}).status_code == 201
    base = f"{waves}/w-b"
    # the draw: seed out of range, too large, then stratified by grid, once only
    assert c.post(base + "/sample", headers=e.evaluator, json={
        "size": 3, "seed": 2**31}).json["error"]["fields"]["seed"]
    assert c.post(base + "/sample", headers=e.evaluator, json={
        "size": 7}).json["error"]["fields"]["size"]
    assert c.post(base + "/sample", headers=e.buyer, json={"size": 3}).status_code == 403
    drawn = c.post(base + "/sample", headers=e.evaluator, json={
        "size": 3, "seed": 12352, "stratify_by": ["grid_id"]})
    assert drawn.status_code == 201, drawn.json
    design = drawn.json["sample_design"]
    assert design["seed"] == 12352 and design["frame_size"] == 6
    assert design["strata"] == {"grid_id=g1": {"frame": 4, "drawn": 2},
                                "grid_id=g2": {"frame": 2, "drawn": 1}}
    assert c.post(base + "/sample", headers=e.evaluator, json={"size": 3}).status_code == 409
    sample = [s["resident_ref"] for s in c.get(base + "/sample", headers=e.evaluator).json]
    with e.app.app_context():  # the same frame and seed give the same sample again
        again = surveys.draw(surveys.frame(surveys.db.session.get(surveys.Contract, "k1"),
                                           date(2026, 2, 1)), 3, 12352, ("grid_id",))
    assert sorted(r for refs in again.values() for r in refs) == sample
    published = outbox_events(e.app, "survey.sample_drawn")
    assert [(p.data["wave_id"], p.data["seed"], p.data["resident_refs"],
             p.data["release_until"]) for p in published] == [
        ("w-b", 12352, sample, "2026-03-31")]

    # the follow-up asks the same residents again (a panel), so changes pair up
    assert c.post(waves, headers=e.evaluator, json={
        "id": "w-f", "kind": "follow_up", "opens_on": "2026-10-01",
        "closes_on": "2026-11-30"}).status_code == 201
    follow = f"{waves}/w-f"
    panel = c.post(follow + "/sample", headers=e.evaluator, json={"panel": True})
    assert panel.status_code == 201 and panel.json["sample_design"]["panel_of"] == "w-b"

    def answer(wave, ref, level, instrument="sociopolitical_control", day="2026-03-01"):
        definition = {"sociopolitical_control": SPC, "service_satisfaction": SAT}[instrument]
        return c.post(wave + "/responses", headers=e.evaluator, json={
            "resident_ref": ref, "instrument": instrument, "answered_on": day,
            "answers": at_level(definition, level)})
    # r1 participant, r2 leader (between the waves), the third drawn did nothing
    third = next(r for r in sample if r not in ("r1", "r2"))
    assert {"r1", "r2"} <= set(sample)
    for ref, before, after in (("r1", 2, 3), ("r2", 3, 5), (third, 3, 3)):
        assert answer(base, ref, before).status_code == 201
        assert answer(follow, ref, after, day="2026-10-15").status_code == 201

    # bad input: refused with the reason, nothing recorded changes
    outsider = next(f"r{i}" for i in range(1, 7) if f"r{i}" not in sample)
    refused = answer(base, outsider, 3)
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {"resident_ref": ["Not in this wave's sample"]}
    assert refused.json["error"]["fields_zh"] == {"resident_ref": ["不在本轮调查的样本中"]}
    twice = answer(base, "r1", 5)
    assert twice.status_code == 409 and twice.json["error"]["code"] == "already_answered"
    wild = c.post(base + "/responses", headers=e.evaluator, json={
        "resident_ref": "r1", "instrument": "sense_of_community",
        "answers": {"nd1": 9}, "answered_on": "2026-03-02"})
    assert wild.status_code == 422
    assert wild.json["error"]["fields"]["answers.nd1"] == [
        "Must be greater than or equal to 1 and less than or equal to 5."]
    assert "answers.mb1" in wild.json["error"]["fields"]  # incomplete
    late = answer(base, "r2", 4, instrument="service_satisfaction", day="2026-04-02")
    assert late.json["error"]["fields"] == {"answered_on": [surveys.OUTSIDE_WAVE]}
    assert c.post(base + "/close", headers=e.evaluator).status_code == 200
    assert [x.data for x in outbox_events(e.app, "survey.wave_closed")] == [
        {"contract_id": "k1", "wave_id": "w-b", "closed_on": str(clock.today())}]
    closed = answer(base, third, 4, instrument="service_satisfaction")
    assert closed.status_code == 422 and closed.json["error"]["fields"] == {
        "wave_id": ["The wave is closed"]}
    scores = c.get(base + "/scores", headers=e.buyer).json
    assert {s["resident_ref"]: s["scores"]["total"] for s in scores} == {
        "r1": 2.0, "r2": 3.0, third: 3.0}

    # anonymous satisfaction: one satisfied (4), one not (2); no reference kept
    assert answer(follow, "r1", 4, "service_satisfaction", "2026-10-16").status_code == 201
    assert answer(follow, "r2", 2, "service_satisfaction", "2026-10-16").status_code == 201
    assert answer(follow, "r2", 5, "service_satisfaction", "2026-10-17").status_code == 409
    follow_scores = c.get(follow + "/scores", headers=e.evaluator).json
    assert sorted(str(s["resident_ref"]) for s in follow_scores
                  if s["instrument_key"] == "service_satisfaction") == ["None", "None"]

    change = c.get("/contracts/k1/survey-change?instrument=sociopolitical_control",
                   headers=e.buyer).json
    total = change["total"]
    # differences 1, 2, 0: mean 1, sd 1, se 1/sqrt(3); t(0.975, 2) = 4.302653
    half = 4.302653 * 1 / math.sqrt(3)
    assert total["paired"]["n"] == 3 and total["paired"]["change"] == 1.0
    assert total["paired"]["ci95"] == pytest.approx([1 - half, 1 + half], abs=1e-4)
    # Welch: means 8/3 and 11/3, variances 1/3 and 4/3, n 3 and 3
    se = math.sqrt((1 / 3) / 3 + (4 / 3) / 3)
    df = se**4 / (((1 / 3) / 3) ** 2 / 2 + ((4 / 3) / 3) ** 2 / 2)
    assert df == pytest.approx(2.941176, abs=1e-5)
    welch_half = stats.t.ppf(0.975, df) * se
    assert total["independent"]["change"] == 1.0
    assert total["independent"]["ci95"] == pytest.approx([1 - welch_half, 1 + welch_half],
                                                         abs=1e-4)
    assert change["subscales"]["policy_control"]["paired"]["change"] == 1.0
    assert {k: (v["n"], v["change"]) for k, v in change["by_rung"].items()} == {
        "none": (1, 0.0), "participant": (1, 1.0), "leader": (1, 2.0)}
    climbed = change["by_climb"]["climbed"]
    # differences 1 and 2: mean 1.5, sd 0.7071, se 0.5; t(0.975, 1) = 12.706205
    assert (climbed["n"], climbed["change"]) == (2, 1.5)
    assert climbed["ci95"] == pytest.approx([1.5 - 6.353102, 1.5 + 6.353102], abs=1e-4)
    assert change["by_climb"]["did_not_climb"]["ci95"] is None

    card = c.get("/contracts/k1/scorecard?to=2026-12-31", headers=e.buyer).json
    psychological = next(d for d in card["dimensions"] if d["key"] == "psychological")
    by_measure = {i["measure"]: i for i in psychological["indicators"]}
    assert (by_measure["empowerment_change"]["value"],
            by_measure["empowerment_change"]["score"]) == (1.0, 100.0)
    assert by_measure["community_identity_change"]["value"] is None
    assert (by_measure["service_satisfaction"]["value"],
            by_measure["service_satisfaction"]["score"]) == (0.5, round(100 * 0.5 / 0.85, 2))
    before_follow_up = c.get("/contracts/k1/scorecard?to=2026-09-30", headers=e.buyer).json
    assert next(i for d in before_follow_up["dimensions"] for i in d["indicators"]
                if i["measure"] == "empowerment_change")["value"] is None


def test_only_the_contracts_evaluator_runs_its_waves(evaluation):
    e, c = evaluation, evaluation.client
    other = bearer(e.backend.token("evaluator", contract_id="k2"))
    body = {"id": "w-b", "kind": "baseline", "opens_on": "2026-02-01",
            "closes_on": "2026-03-31"}
    assert c.post("/contracts/k1/waves", headers=other, json=body).status_code == 404
    agency = bearer(e.backend.token("agency_admin", agency_id="a1"))
    assert c.post("/contracts/k1/waves", headers=agency, json=body).status_code == 403
    assert c.post("/contracts/k1/waves", headers=e.evaluator, json={
        **body, "opens_on": "2027-02-01", "closes_on": "2027-03-01",
        "instruments": ["nope"]}).json["error"][
        "fields"].keys() == {"opens_on", "closes_on", "instruments.0"}
    twice = c.post("/contracts/k1/waves", headers=e.evaluator, json={
        **body, "instruments": ["sense_of_community", "sense_of_community"]})
    assert twice.json["error"]["fields"] == {"instruments.1": [surveys.INSTRUMENT_TWICE]}
    assert c.post("/contracts/k1/waves", headers=e.evaluator, json=body).status_code == 201
    assert c.get("/contracts/k1/waves", headers=agency).json[0]["id"] == "w-b"
    assert c.get("/contracts/k1/waves/w-b/scores", headers=agency).status_code == 403
    listed = c.get("/instruments", headers=e.evaluator).json
    assert [(i["key"], i["version"]) for i in listed] == [
        ("sense_of_community", 1), ("service_satisfaction", 1), ("sociopolitical_control", 1)]
    assert sum(i["reverse"] for i in listed[2]["items"]) == 4


# -- through the running services: sample -> intake -> the evaluator's contacts -------------

def test_contacts_reach_the_evaluator_of_that_wave_only(isolated, tmp_path):
    b = isolated
    today = clock.today()
    buyer = bearer(b.token("buyer_auditor", buyer_id="b1"))
    clerk = bearer(b.token("intake_clerk", community_ids=["c1"]))
    evaluator = bearer(b.token("evaluator", contract_id="k1", sub="eval-firm"))
    ops = bearer(b.token("ops_admin"))
    seed_community(b.app("intake"), "c1")
    people = [("赵淑芬", "13912340001"), ("钱志强", "13912340002"), ("孙美玲", "13912340003"),
              ("李国华", "13912340004")]
    remember_pii(*(v for person in people for v in person))
    with running_platform(b, tmp_path) as p:
        intake, evaluation = p.url("intake"), p.url("evaluation")
        register_jurisdiction(intake, evaluation, ops)
        refs = {}
        for name, phone in people:
            made = requests.post(intake + "/residents", headers=clerk, json={
                "community_id": "c1", "grid_id": "c1-g1", "name": name, "phone": phone,
                "gender": "female", "birth_date": "1960-05-05"})
            assert made.status_code == 201, made.text
            refs[made.json()["ref"]] = (name, phone)
        for contract in ("k1", "k2"):
            assert requests.post(evaluation + "/contracts", headers=buyer, json={
                "id": contract, "agency_id": "a1", "community_ids": ["c1"],
                "budget": "100000", "period_start": str(today - timedelta(days=30)),
                "period_end": str(today + timedelta(days=300))}).status_code == 201
        wave = {"kind": "baseline", "opens_on": str(today),
                "closes_on": str(today + timedelta(days=30))}

        def projected():
            counts = requests.get(evaluation + "/event-counts", headers=ops).json()["by_type"]
            return counts.get("resident.registered") == 4
        wait_until(projected, 60, "evaluation to project the four residents")
        assert requests.post(evaluation + "/contracts/k1/waves", headers=evaluator,
                             json={"id": "w1", **wave}).status_code == 201
        drawn = requests.post(evaluation + "/contracts/k1/waves/w1/sample", headers=evaluator,
                              json={"size": 2, "seed": 7})
        assert drawn.status_code == 201, drawn.text
        sample = [s["resident_ref"] for s in requests.get(
            evaluation + "/contracts/k1/waves/w1/sample", headers=evaluator).json()]
        assert drawn.json()["sample_design"]["frame_size"] == 4 and len(sample) == 2
        # the other contract's evaluator draws its own wave
        other = bearer(b.token("evaluator", contract_id="k2"))
        assert requests.post(evaluation + "/contracts/k2/waves", headers=other,
                             json={"id": "w2", **wave}).status_code == 201
        assert requests.post(evaluation + "/contracts/k2/waves/w2/sample", headers=other,
                             json={"size": 1, "seed": 1}).status_code == 201

        def contacts():
            r = requests.get(f"{intake}/survey-waves/w1/contacts", headers=evaluator)
            return r.json() if r.status_code == 200 else None
        released = wait_until(contacts, 60, "intake to learn the sample")
        assert {c["resident_ref"]: (c["name"], c["phone"]) for c in released} == {
            ref: refs[ref] for ref in sample}
        assert set(released[0]) == {"resident_ref", "name", "phone"}
        wait_until(lambda: requests.get(f"{intake}/survey-waves/w2/contacts",
                                        headers=other).status_code == 200, 60, "wave w2")
        # another contract's wave, another role: nothing
        assert requests.get(f"{intake}/survey-waves/w2/contacts",
                            headers=evaluator).status_code == 404
        for token, status in ((buyer, 401), (clerk, 403), (ops, 403)):  # 401: not for intake
            assert requests.get(f"{intake}/survey-waves/w1/contacts",
                                headers=token).status_code == status
        assert requests.get(f"{intake}/residents/{sample[0]}",
                            headers=evaluator).status_code == 403
        log = requests.get(f"{intake}/access-log?actor=eval-firm", headers=ops).json()
        assert sorted((x["resident_ref"], x["action"], tuple(x["fields"])) for x in log) == \
            sorted((ref, "survey_release", ("name", "phone")) for ref in sample)

        # responses -> scores -> the scorecard's psychological indicator
        assert requests.post(evaluation + "/contracts/k1/waves", headers=evaluator, json={
            "id": "w1-f", **wave, "kind": "follow_up"}).status_code == 201
        assert requests.post(evaluation + "/contracts/k1/waves/w1-f/sample",
                             headers=evaluator, json={"panel": True}).status_code == 201
        for ref, (before, after) in zip(sample, ((2, 3), (3, 5))):
            for wave_id, level in (("w1", before), ("w1-f", after)):
                assert requests.post(
                    f"{evaluation}/contracts/k1/waves/{wave_id}/responses",
                    headers=evaluator, json={"resident_ref": ref,
                                             "instrument": "sociopolitical_control",
                                             "answers": at_level(SPC, level)}
                ).status_code == 201
        card = requests.get(evaluation + "/contracts/k1/scorecard", headers=buyer).json()
        indicator = next(i for d in card["dimensions"] for i in d["indicators"]
                         if i["measure"] == "empowerment_change")
        assert indicator["value"] == 1.5 and indicator["score"] == 100.0
        # closing the wave ends the release at once
        assert requests.post(evaluation + "/contracts/k1/waves/w1/close",
                             headers=evaluator).status_code == 200
        def release_ended():
            r = requests.get(f"{intake}/survey-waves/w1/contacts", headers=evaluator)
            return r.status_code == 403 and r.json()["error"]["code"] == "release_expired"
        wait_until(release_ended, 60, "the release to end")
