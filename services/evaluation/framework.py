"""The indicator framework a buyer pays by: dimension -> indicator -> weight and target.

Measures are the handout's outcome measures, each with its direction (whether more is
better). The default template groups them under the four empowerment dimensions
(institutional, environmental, technological, psychological). Indicators with weight 0 are
monitored, not paid: breadth, representativeness and decision mode stay visible even when
they carry no payment weight."""
from copy import deepcopy
from datetime import date

from shared.i18n import bilingual

# key: (Chinese name, English name, unit, higher is better)
MEASURES = {
    "ladder_participant_share": ("参与者占服务对象比例", "served residents who became participants", "share", True),
    "ladder_contributor_share": ("贡献者占参与者比例", "participants who became contributors", "share", True),
    "ladder_codecider_share": ("共同决策者占贡献者比例", "contributors who became co-deciders", "share", True),
    "ladder_leader_count": ("居民领袖人数", "resident leaders", "residents", True),
    "dependency_ratio": ("居民主导比例", "resident-initiated or -led share of topics, sessions, activities", "share", True),
    "resident_topic_adoption": ("居民议题采纳率", "adopted resident topics / resident topics", "share", True),
    "resident_share_of_adopted": ("采纳议题中居民议题占比", "residents' share of adopted topics", "share", True),
    "response_days": ("议题响应天数中位数", "median days from topic proposed to decided", "days", False),
    "follow_through": ("决议落实率", "adopted decisions fully carried out / adopted", "share", True),
    "stalled_share": ("决议停滞比例", "adopted decisions with no progress for 90 days", "share", False),
    "need_traceability": ("需求回应率", "needs that led to a case or council topic / needs", "share", True),
    "breadth": ("参与广度", "unique participants / registered residents", "share", True),
    "stability": ("参与稳定性", "participants active in 2+ calendar months of the range", "share", True),
    "representativeness_gap": ("代表性差距", "mean of the age, gender, household and grid gaps between participants and registered residents", "share", False),
    "capacity_to_leadership": ("能力建设转化率", "trained residents who propose, lead or organise within 180 days", "share", True),
    "organisational_vitality": ("组织活力", "organisations with a self-led activity in 90 days / formed", "share", True),
    "volunteer_activation": ("志愿者活跃率", "volunteers active in 90 days / registered", "share", True),
    "service_to_participation": ("服务转参与率", "closed cases whose resident takes part within 90 days", "share", True),
    "decision_mode_delegated": ("授权居民决定比例", "decided topics delegated to residents", "share", True),
    "cost_per_outcome": ("单位成果成本", "spend / (newly active residents + carried-out resident decisions)", "yuan", False),
    "digital_channel_share": ("线上渠道占比", "needs and topics that came in digitally", "share", True),
    "verified_share": ("回访核实率", "sampled records confirmed by follow-up", "share", True),
    "empowerment_change": ("心理赋权变化", "change in sociopolitical control (1-5) from the baseline survey", "points", True),
    "community_identity_change": ("社区认同变化", "change in sense of community (1-5) from the baseline survey", "points", True),
    "service_satisfaction": ("服务满意度", "surveyed residents satisfied with the service", "share", True),
    "fund_vote_share": ("微实事资金居民投票决定占比", "share of the micro-fund allocated by residents' vote", "share", True),
    "fund_turnout": ("微实事投票率", "unique voters / registered residents (online and paper apart)", "share", True),
    "fund_resident_proposed_share": ("资助项目中居民提出占比", "funded projects proposed by residents or their organisations", "share", True),
    "fund_delivery_rate": ("微实事项目落实率", "funded projects carried out / funded projects", "share", True),
    "fund_cost_accuracy": ("微实事成本准确度", "actual cost / reviewed price of the funded projects", "ratio", False),
    "fund_voter_representativeness_gap": ("投票者代表性差距", "distance between the fund's voters and registered residents", "share", False),
}

DEFAULT_TEMPLATE = [
    {"key": "institutional", "name_zh": "制度赋权", "name_en": "Institutional", "weight": 30,
     "indicators": [
         {"measure": "resident_topic_adoption", "weight": 30, "target": 0.6},
         {"measure": "response_days", "weight": 20, "target": 30},
         {"measure": "follow_through", "weight": 30, "target": 0.7},
         {"measure": "decision_mode_delegated", "weight": 20, "target": 0.3},
         {"measure": "fund_vote_share", "weight": 0, "target": 0.9},
         {"measure": "fund_turnout", "weight": 0, "target": 0.2},
         {"measure": "fund_resident_proposed_share", "weight": 0, "target": 0.6},
         {"measure": "fund_delivery_rate", "weight": 0, "target": 0.8},
         {"measure": "fund_cost_accuracy", "weight": 0, "target": 1.05},
         {"measure": "fund_voter_representativeness_gap", "weight": 0, "target": 0.15}]},
    {"key": "environmental", "name_zh": "环境赋权", "name_en": "Environmental", "weight": 25,
     "indicators": [
         {"measure": "organisational_vitality", "weight": 35, "target": 0.6},
         {"measure": "volunteer_activation", "weight": 35, "target": 0.5},
         {"measure": "need_traceability", "weight": 30, "target": 0.8},
         {"measure": "stalled_share", "weight": 0, "target": 0.1},
         {"measure": "cost_per_outcome", "weight": 0, "target": 5000}]},
    {"key": "technological", "name_zh": "技术赋权", "name_en": "Technological", "weight": 10,
     "indicators": [
         {"measure": "digital_channel_share", "weight": 50, "target": 0.3},
         {"measure": "verified_share", "weight": 50, "target": 0.9}]},
    {"key": "psychological", "name_zh": "心理赋权", "name_en": "Psychological", "weight": 35,
     "indicators": [
         {"measure": "ladder_participant_share", "weight": 15, "target": 0.5},
         {"measure": "dependency_ratio", "weight": 15, "target": 0.4},
         {"measure": "capacity_to_leadership", "weight": 15, "target": 0.3},
         {"measure": "service_to_participation", "weight": 10, "target": 0.3},
         {"measure": "stability", "weight": 10, "target": 0.5},
         {"measure": "empowerment_change", "weight": 15, "target": 0.3},
         {"measure": "community_identity_change", "weight": 10, "target": 0.2},
         {"measure": "service_satisfaction", "weight": 10, "target": 0.85},
         {"measure": "breadth", "weight": 0, "target": 0.2},
         {"measure": "representativeness_gap", "weight": 0, "target": 0.15}]},
]

WEIGHTS_SUM = bilingual("Weights must add up to 100", "权重之和必须为100")
UNKNOWN_MEASURE = bilingual("Unknown measure", "未知的指标")
MEASURE_TWICE = bilingual("A measure may appear once in a framework", "同一指标在框架中只能出现一次")
SHARES_SUM = bilingual("Milestone payment shares add up to at most 1",
                       "各节点付款比例之和不能超过1")
OUTSIDE_PERIOD = bilingual("Milestones fall within the contract period", "付款节点须在合同期内")


def default_framework() -> list[dict]:
    return deepcopy(DEFAULT_TEMPLATE)


def framework_problems(framework: list[dict]) -> dict:
    """Field -> reasons for a framework that cannot be scored; empty if it can."""
    problems, seen = {}, set()
    if round(sum(d["weight"] for d in framework), 6) != 100:
        problems["framework"] = [WEIGHTS_SUM]
    for i, dimension in enumerate(framework):
        paid = [x["weight"] for x in dimension["indicators"]]
        if round(sum(paid), 6) != 100:
            problems[f"framework.{i}.indicators"] = [WEIGHTS_SUM]
        for j, indicator in enumerate(dimension["indicators"]):
            if indicator["measure"] not in MEASURES:
                problems[f"framework.{i}.indicators.{j}.measure"] = [UNKNOWN_MEASURE]
            elif indicator["measure"] in seen:
                problems[f"framework.{i}.indicators.{j}.measure"] = [MEASURE_TWICE]
            seen.add(indicator["measure"])
    return problems


def milestone_problems(milestones: list[dict], start, end) -> dict:
    problems = {}
    if round(sum(m["share"] for m in milestones), 6) > 1:
        problems["milestones"] = [SHARES_SUM]
    dues = [date.fromisoformat(m["due"]) if isinstance(m["due"], str) else m["due"]
            for m in milestones]
    if any(not start <= due <= end for due in dues):
        problems.setdefault("milestones", []).append(OUTSIDE_PERIOD)
    return problems
