"""The T-community scenario: its plan is deterministic and keeps to its knobs; run through the
real platform, evaluation arrives from the events alone at what the plan says it did; and
`make run` loads it once, prints the scorecard, and does not load it again."""
import os
import random
from unittest import mock
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

import pytest

from launcher.supervisor import ROOT
from launcher.welcome import DEV_PASSWORD, PAGE_USERS
import services.intake
from scenario import Knobs, build_plan
from scenario.client import Client
from scenario import recording
from scenario.fund import PROJECTS
from scenario.plan import milestones
from scenario.truth import event_counts, figures, hours_recorded_after, recorded_after
from shared import clock
from shared.config import ConfigError
from shared.localtime import end_of_day
from tests.helpers import running_platform, wait_until
from tests.test_pages import login

DATED = ("date", "opened_on", "closed_on", "set_on", "proposed_on", "decided_on", "on",
         "registered_on", "formed_on")


def test_plan_is_deterministic_and_keeps_to_its_knobs():
    knobs = Knobs(residents=150, months=4, agencies=2, communities=3, seed=7)
    end = date(2026, 6, 15)
    plan = build_plan(knobs, end)
    assert plan.phases == build_plan(knobs, end).phases
    assert plan.phases != build_plan(Knobs(**{**knobs.__dict__, "seed": 8}), end).phases
    assert (plan.start, plan.end) == (date(2026, 2, 15), end)
    calls = list(plan.calls())
    rows = [row for c in calls if c.upload for row in c.upload["rows"]]
    assert len(rows) == 150 and len({r["身份证号"] for r in rows}) == 150
    # a roster carried over: everyone was registered before the contract year
    assert all(date.fromisoformat(r["登记日期"]) < plan.start for r in rows)
    contracts = {c.body["id"]: c.body["community_ids"] for c in calls
                 if c.path == "/contracts"}
    assert contracts == {"k-a1": ["c1", "c3"], "k-a2": ["c2"]}
    booked = defaultdict(list)
    for call in calls:
        body = call.body or {}
        for key in DATED:
            if key in body:  # every record falls within the contract year, none in future
                assert plan.start <= date.fromisoformat(body[key]) < end, (call.path, body)
        for worker in body.get("worker_ids", []):
            booked[worker, body["date"]].append((time.fromisoformat(body["start"]),
                                                 time.fromisoformat(body["end"])))
    assert booked
    for slots in booked.values():  # nobody is recorded in two places at once
        slots.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(slots, slots[1:]))


FUND_MEASURES = ("fund_vote_share", "fund_turnout", "fund_resident_proposed_share",
                 "fund_delivery_rate", "fund_cost_accuracy",
                 "fund_voter_representativeness_gap")
# the platform takes its clock from the scenario (development only)
SIMULATED = {"SOCIALWORK_CLOCK": "header", "SOCIALWORK_ENV": "development"}


def test_evaluation_arrives_at_what_the_plan_did(isolated, tmp_path):
    b = isolated
    plan = build_plan(Knobs(residents=60, months=3, seed=11))
    (_, first, due), _ = milestones(plan)
    with running_platform(b, tmp_path, env=SIMULATED) as p, b.environ():
        client = Client({s: p.url(s) for s in p.ports}, threads=4, clock=True)
        client.load(plan, timeout=240)
        client.wait_for_evaluation(timeout=240)
        counts = client.get("evaluation", "/event-counts")["by_type"]
        auditor = ("buyer_auditor", "street-office-1")
        card = client.get("evaluation", "/contracts/k-a1/scorecard", auditor)
        paid = client.get("evaluation", "/contracts/k-a1/milestones/mid-term", auditor)
        mid_now = client.get("evaluation", "/contracts/k-a1/scorecard", auditor, **{
            "from": first.isoformat(), "to": due.isoformat()})
        on_due = client.get("evaluation", "/contracts/k-a1/scorecard", auditor, **{
            "from": first.isoformat(), "to": due.isoformat(), "as_of": due.isoformat()})
        first_month = client.get("evaluation", "/contracts/k-a1/scorecard", auditor, **{
            "from": plan.start.isoformat(), "to": (plan.start + timedelta(days=30)).isoformat()})
        samples = client.get("evaluation", "/contracts/k-a1/verifications", auditor)
        reviews = {m: client.get("evaluation", f"/contracts/k-a1/milestones/{m}/review",
                                 auditor) for m in ("mid-term", "final")}
        ledger = client.get("evaluation", "/contracts/k-a1/ledger", auditor)
        report = client.request("GET", "evaluation",
                                "/contracts/k-a1/milestones/mid-term/report/pdf", auditor)
        answered = {wave: Counter(r["instrument_key"] for r in client.get(
            "evaluation", f"/contracts/k-a1/waves/{wave}/scores", auditor))
            for wave in ("k-a1-baseline", "k-a1-follow-up")}
    assert counts == event_counts(plan)
    truth = figures(plan)["k-a1"]
    # every sampled record checked: as many drawn as planned, none left pending
    assert sorted((s["kind"], s["period_from"], s["period_to"],
                   sum(1 for i in s["items"] if i["result"])) for s in samples) == sorted(
        truth["verification_samples"])
    assert card["outputs"] == truth["outputs"]
    assert card["ladder"]["at_least"] == truth["ladder"]
    values = {i["measure"]: i["value"] for d in card["dimensions"] for i in d["indicators"]}
    assert {k: values[k] for k in truth["indicators"]} == truth["indicators"]
    assert truth["ladder"]["participant"] > 0 and truth["outputs"]["sessions"] > 0
    assert 0 < truth["indicators"]["verified_share"] < 1
    # the surveys: as many respondents as planned, to every instrument, changes measured
    assert {wave: set(n.values()) for wave, n in answered.items()} == {
        wave: {n} for wave, n in truth["survey_respondents"].items()}
    assert truth["survey_respondents"]["k-a1-follow-up"] >= 2
    assert values["empowerment_change"] is not None and values["service_satisfaction"] > 0
    early = {i["measure"]: i for d in first_month["dimensions"] for i in d["indicators"]}
    assert early["breadth"]["value"] is not None  # the roster was registered by then
    _check_mid_term(plan, paid, mid_now, on_due)
    _check_evaluations(reviews, ledger, report)
    # the micro-fund ran through the API: its measures are on the scorecard
    fund = {k: values[k] for k in FUND_MEASURES}
    assert None not in fund.values(), fund
    # every feasible project funded at its price, two of the three carried out
    assert fund["fund_vote_share"] == round(sum(p[4] for p in PROJECTS if p[4]), 4)
    assert fund["fund_delivery_rate"] == round(2 / 3, 4)
    assert fund["fund_resident_proposed_share"] == round(2 / 3, 4)
    assert 0 < fund["fund_turnout"] < 1


def _check_mid_term(plan, paid, now, on_due):
    """The year was recorded at its own times: the mid-term card as of its due date holds
    what had been recorded by then; paid at the due date plus the allowance, it differs from
    the card known now by exactly the late entries listed beside it, which are the ones the
    plan entered after it was paid."""
    assert on_due["outputs"]["sessions"] > 0 and on_due["total"] is not None
    assert paid["card"]["total"] is not None
    later = paid["post_close_changes"]["recorded_later"]
    assert later["count"] == len(later["entries"]) > 0
    as_of = datetime.fromisoformat(paid["as_of"])
    listed = Counter(e["type"] for e in later["entries"])
    assert listed == recorded_after(plan, as_of, plan.start, date.fromisoformat(
        paid["period_to"]))
    assert {e["kind"] for e in later["entries"]} == {"late_entry", "correction"}
    late = Counter(e["type"] for e in later["entries"] if e["kind"] == "late_entry")
    then, known = paid["card"]["outputs"], now["outputs"]
    assert known["sessions"] - then["sessions"] == late["session.delivered"]
    assert known["service_hours"] - then["service_hours"] == pytest.approx(
        hours_recorded_after(plan, as_of, plan.start, date.fromisoformat(paid["period_to"])))
    assert known["activities"] - then["activities"] == late["capacity.activity_held"]
    assert known["cases"] - then["cases"] == late["case.opened"]
    assert sum(late.values()) > 0 and then != known
    # as of the due date itself, what had been recorded by the end of that day
    due = date.fromisoformat(paid["period_to"])
    assert on_due["outputs"]["sessions"] == sum(
        1 for c in plan.calls() if c.path == "/sessions"
        and plan.start <= date.fromisoformat(c.body["date"]) <= due and c.at <= end_of_day(due))


def _check_evaluations(reviews, ledger, report):
    """The interim evaluation scored, answered and decided on the closed card; the final one
    scored and answered, its payment waiting; the ledger spent with its flags."""
    mid, final = reviews["mid-term"], reviews["final"]
    assert mid["card_closed"] and mid["complete"] and mid["grade"] is not None
    assert mid["decision"]["decision"] == "approve"
    assert mid["decision"]["amount"] == mid["recommended"]
    practice = next(i for i in mid["items"] if i["key"] == "professional_practice")
    assert practice["answer"] and practice["score"]["points"] == "21.50"
    assert practice["score"]["records"] and all(r.get("event_ids")
                                                for r in practice["score"]["records"])
    assert final["complete"] and final["decision"] is None and not final["card_closed"]
    lines = {line["key"]: line for line in ledger["lines"]}
    assert lines["materials"]["over_budget"] and 0 < float(ledger["execution_rate"]) < 1
    flags = [flag for e in ledger["expenses"] for flag in e["flags"]]
    assert {"over_budget", "outside_period", "no_receipt"} <= set(flags)
    assert report.status_code == 200 and report.content.startswith(b"%PDF")


def test_the_plan_enters_each_record_when_it_would_have_been_entered():
    """Every call says when it is recorded: never before the record's day, never on or
    after the load day; around the mid-term, late entries within and beyond the allowance
    and corrections after the due date; the milestone closed after the allowance."""
    plan = build_plan(Knobs(), date(2026, 12, 2))
    (_, _, due), _ = milestones(plan)
    last, paid = recording.cap(plan), end_of_day(due + timedelta(days=recording.ALLOWANCE))
    calls = [c for c in plan.calls() if not c.fieldwork]
    assert all(c.at is not None and c.at <= last for c in calls)
    dated = [c for c in calls if recording.day_of(c)]
    assert all(c.at >= recording.earliest(recording.day_of(c)) for c in dated)
    window = [c for c in dated if c.path in ("/sessions", "/activities")
              and due - timedelta(days=recording.WINDOW) <= recording.day_of(c) <= due]
    within = [c for c in window if end_of_day(due) < c.at <= paid]
    beyond = [c for c in window if c.at > paid]
    assert 0.05 < len(within) / len(window) < 0.25 and 0 < len(beyond) < len(within)
    fixes = [c for c in calls if c.path == "/corrections"]
    assert len(fixes) == recording.CORRECTIONS and all(c.at > end_of_day(due) for c in fixes)
    assert sum(c.at > paid for c in fixes) == 2
    assert sum("end" in c.body["changes"] for c in fixes) == 2
    closing = [c for c in calls if c.path.endswith("/milestones/mid-term/close")]
    assert [c.at for c in closing] == [recording.closing_time(due)] and closing[0].at > paid
    for _, chains in plan.phases:  # a photo is sent after its session is written up
        for chain in chains:
            for before, call in zip(chain, chain[1:]):
                assert not call.photo or call.at > before.at


def test_production_refuses_the_simulated_clock(embedded):
    """The clock setting is for development only; without it the header is refused."""
    with mock.patch.dict(os.environ, {**embedded.env, "SOCIALWORK_CLOCK": "header",
                                      "SOCIALWORK_ENV": "production"}):
        with pytest.raises(ConfigError, match="SOCIALWORK_CLOCK is for development only"):
            services.intake.create_app()
    with mock.patch.dict(os.environ, {**embedded.env, "SOCIALWORK_CLOCK": "file"}):
        with pytest.raises(ConfigError, match="must be 'header'"):
            services.intake.create_app()
    app = embedded.app("intake")
    token = embedded.token("ops_admin")
    refused = app.test_client().get("/communities", headers={
        "Authorization": f"Bearer {token}", clock.HEADER: "2026-03-01T10:00:00+08:00"})
    assert refused.status_code == 400, refused.json
    assert refused.json["error"]["code"] == "clock_not_enabled"


def test_the_simulated_clock_stamps_what_a_request_records(embedded):
    """In development with the setting, the header's moment is the event's time and the
    row's; a moment in the future is refused."""
    app = embedded.app("intake")
    ops = {"Authorization": f"Bearer {embedded.token('ops_admin')}"}
    with mock.patch.dict(os.environ, {"SOCIALWORK_CLOCK": "header"}):
        http = app.test_client()
        # the future, and times no record is at (year 1 at +14:00 overflowed: a 500)
        for moment in ("2999-01-01T10:00:00+08:00", "0001-01-01T00:00:00+14:00",
                       "1899-12-31T23:59:59Z", "2026-03-01T10:00:00"):
            refused = http.post("/agencies", json={"id": "a9", "name": "九号社工服务中心"},
                                headers={**ops, clock.HEADER: moment})
            assert refused.status_code == 422, (moment, refused.status_code)
            assert clock.HEADER in refused.json["error"]["fields"]
        made = http.post("/agencies", json={"id": "a9", "name": "九号社工服务中心"},
                         headers={**ops, clock.HEADER: "2026-03-01T10:00:00+08:00"})
        assert made.status_code == 201, made.json
        event = http.get("/events", headers=ops).json["events"][-1]
        assert event["time"] == "2026-03-01T02:00:00.000000Z"
        plain = http.post("/agencies", json={"id": "a8", "name": "八号社工服务中心"},
                          headers=ops)
        assert plain.status_code == 201
        event = http.get("/events", headers=ops).json["events"][-1]
        assert event["time"][:10] == date.today().isoformat()  # no header: the machine's


def test_the_year_ends_on_the_community_s_today():
    """From 16:00 UTC it is already tomorrow in China, the platform's today: a plan ending on
    the machine's date ended its contracts the day before, so casework's agencies had no
    current contract, saw no residents, and loading waited for them in vain; the last moment
    a record is entered is the community's midnight too."""
    token = clock._moment.set(datetime.fromisoformat("2026-03-01T20:00:00+00:00"))
    try:  # 04:00 on 2 March in China
        plan = build_plan(Knobs(residents=20, months=1, seed=3))
        assert plan.end == date(2026, 3, 2)
        assert recording.cap(plan) == datetime.fromisoformat("2026-03-01T23:59:00+08:00")
    finally:
        clock._moment.reset(token)


def _start_run(env, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "launcher", "--residents", "40",
                             "--months", "2", "--probe-base",
                             str(random.randint(300, 500) * 100)],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _serve_once(env, log_path) -> str:
    """Start `make run`'s program, wait until it serves, stop it with Ctrl-C; its output."""
    with open(log_path, "w") as log:
        proc = _start_run(env, log)
    try:
        wait_until(lambda: "Press Ctrl-C" in log_path.read_text() or proc.poll() is not None,
                   300, "the platform to load, score and serve", interval=1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    return log_path.read_text()


@pytest.mark.slow
def test_make_run_loads_once_and_prints_the_scorecard(embedded, tmp_path):
    env = {**os.environ, **embedded.env}
    first = _serve_once(env, tmp_path / "first.log")
    assert "First start" in first and "Data present" not in first, first
    for part in ("总分 total", "制度赋权 Institutional", "participation ladder", "k-a1",
                 "付款节点 milestones", "recorded after it was paid", "微实事 micro-fund",
                 "评估 evaluation mid-term", "decided: approve", "经费 ledger",
                 "--role buyer_auditor --buyer street-office-1"):
        assert part in first, first
    held = int(first.split("evaluation holds ")[1].split()[0])
    for service, user_id, *_ in PAGE_USERS:  # the scenario's people log in to the pages
        assert f"user {user_id}" in first, first
        assert login(embedded.app(service), user_id, DEV_PASSWORD)[1].status_code == 302
    second = _serve_once(env, tmp_path / "second.log")
    assert "Data present" in second and "First start" not in second, second
    assert f"consumed {held}/{held} events" in second and "总分 total" in second, second
