"""The micro-fund's pages: a worker sets a fund, takes a project through review and the
notice to a ballot and the results, and the notice a community posts names no resident."""
import re

from tests.test_pages import FIELD_ERROR, casework, login, post, text  # noqa: F401

PHASES = {"phase_proposing": "2026-03-01", "phase_review": "2026-03-15",
          "phase_notice": "2026-03-20", "phase_voting": "2026-03-28",
          "phase_results": "2026-04-05", "phase_delivery": "2026-04-10"}


def test_a_fund_through_its_pages(casework):  # noqa: F811 (the fixture imported)
    client, _ = login(casework, "w1")
    fund = {"community_id": "c1", "year": "2026", "amount": "8000.00",
            "voting_rule": "approval", "min_supports": "0", "notice_days": "7",
            "proposers": ["resident", "agency"]}
    bad = post(client, "/ui/funds", {**fund, **PHASES, "phase_review": "2026-02-01"})
    assert bad.status_code == 422 and "各阶段的开始日期须晚于前一阶段" in text(bad)
    made = post(client, "/ui/funds", {**fund, **PHASES})
    assert made.status_code == 302, text(made)
    page = made.headers["Location"]

    def step(name, data):
        return post(client, f"{page}/{name}", data, page)
    assert step("project", {"title": "楼道扶手", "description": "加装扶手", "category": "works",
                            "location": "3号楼", "estimated_cost": "3000.00",
                            "beneficiaries": "80", "proposer_kind": "resident",
                            "proposer_ref": "r-c1-2", "proposed_on": "2026-03-02"}
                ).status_code == 302
    project_id = re.search(r'name="project_id"[^>]*>\s*<option value="">—</option>\s*'
                           r'<option value="([^"]+)"', text(client.get(page))).group(1)
    wrong = step("review", {"project_id": project_id, "feasible": "true", "price": "1.00",
                            "on": "2026-03-16"})
    assert wrong.status_code == 422 and "资金当前处于" in text(wrong)
    for phase, on in (("review", "2026-03-15"),):
        assert step("phase", {"phase": phase, "on": on}).status_code == 302
    declined = step("review", {"project_id": project_id, "feasible": "false",
                               "on": "2026-03-16"})
    assert "不可行的项目须说明理由" in FIELD_ERROR.findall(text(declined))
    assert step("review", {"project_id": project_id, "feasible": "true", "price": "2800.00",
                           "price_explanation": "询价三家", "on": "2026-03-16"}
                ).status_code == 302
    for phase, on in (("notice", "2026-03-20"), ("voting", "2026-03-28")):
        assert step("phase", {"phase": phase, "on": on}).status_code == 302
    assert step("ballot", {"resident_ref": "r-c1-3", "channel": "online",
                           "project_ids": project_id, "cast_on": "2026-03-29"}
                ).status_code == 302
    twice = step("ballot", {"resident_ref": "r-c1-3", "channel": "online",
                            "project_ids": project_id, "cast_on": "2026-03-30"})
    assert twice.status_code == 422 and "每人每期只计一票" in text(twice)
    assert step("phase", {"phase": "results", "on": "2026-04-05"}).status_code == 302
    board = text(client.get(page))
    assert "获得资助" in board and "2800.00" in board
    notice = text(client.get(f"{page}/notice"))
    assert "2026年度社区微实事公示" in notice and "楼道扶手" in notice
    assert "r-c1-2" not in notice and "r-c1-3" not in notice
    assert "投票人数：1（网上 1，纸质 0）" in notice
    listing = text(client.get("/ui/funds"))
    assert "2800.00" in listing and "8000.00" in listing  # allocated and the amount
    client.get("/ui/lang/en")
    assert "Community micro-fund 2026: public notice" in text(client.get(f"{page}/notice"))
