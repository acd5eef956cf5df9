"""The year's money and its two evaluations (中期评估, 末期评估).

The street office sets the contract's budget by line and its scoring sheet (the default) on
the first morning; the agency's administrator records what it spends, month by month, each
expense a day or two after it was paid with a photo of its receipt (a deposit paid before
the year began is flagged as outside the period, a late order of materials takes that line
over its budget, and one payment has no receipt). After the mid-term milestone is closed the
agency assesses itself on the items it goes first, the evaluator scores every item with a
comment (professional practice citing sessions of the period), the agency answers that score
(申辩), the evaluator looks again and raises it, and the street office approves the payment.
The final evaluation is scored, and answered, on the year's last day; its milestone's
late-entry allowance still runs, so its payment waits. Amounts and times come from
generators of their own, so the rest of the plan stays as it was for the seed."""
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from shared.localtime import COMMUNITY_ZONE

from .calls import Call, Plan, Ref, milestones
from .recording import cap, closing_time, late_milestones

SHARES = (("personnel", "人员经费", "Personnel", Decimal("0.60")),
          ("activities", "活动经费", "Activities", Decimal("0.20")),
          ("materials", "物资耗材", "Materials", Decimal("0.08")),
          ("management", "管理费用", "Management", Decimal("0.07")),
          ("other", "其他", "Other", None))  # the rest
SPENT = Decimal("0.85")  # of each line, spent over the year (materials: more, late)
SELF = {"project_management": ("13", "按实施方案推进，人员配置到位，每月开展督导并归档。"),
        "financial_management": ("13", "专款专用，每笔支出均有凭证，按月记账。")}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=COMMUNITY_ZONE)


def _lines(budget: Decimal) -> list[dict]:
    lines, left = [], budget
    for key, zh, en, share in SHARES:
        amount = left if share is None else (budget * share).quantize(Decimal("1"))
        left -= amount
        lines.append({"key": key, "label_zh": zh, "label_en": en, "amount": str(amount)})
    return lines


def _expenses(plan: Plan, lines: list[dict], rng: random.Random) -> list[tuple]:
    """(day spent, line, amount, payee kind, description) for the year."""
    months, out = plan.knobs.months, []
    last = plan.end - timedelta(days=3)
    for line in lines:
        total = Decimal(line["amount"]) * SPENT
        parts = max(1, months if line["key"] in ("personnel", "activities") else months // 3)
        for n in range(parts):
            offset = (n * (last - plan.start).days) // parts + rng.randint(0, 9)
            day = min(last, plan.start + timedelta(days=offset))
            amount = (total / parts * Decimal(rng.uniform(0.9, 1.1))).quantize(Decimal("0.01"))
            out.append((day, line["key"], amount, PAYEES[line["key"]], WHAT[line["key"]]))
    materials = next(Decimal(line["amount"]) for line in lines if line["key"] == "materials")
    out.append((last, "materials", (materials * Decimal("0.25")).quantize(Decimal("0.01")),
                "supplier", "年末补充采购活动物资"))  # takes materials over its budget
    other = next(Decimal(line["amount"]) for line in lines if line["key"] == "other")
    out.append((plan.start - timedelta(days=3), "other", (other * Decimal("0.1")).quantize(
        Decimal("0.01")), "venue", "活动场地押金（合同开始前支付）"))  # outside the period
    return sorted(out)


PAYEES = {"personnel": "staff", "activities": "supplier", "materials": "supplier",
          "management": "other", "other": "expert"}
WHAT = {"personnel": "社工薪酬及社保", "activities": "小组及社区活动费用",
        "materials": "活动物资采购", "management": "项目管理及办公费用",
        "other": "专家督导费"}


def ledger_chain(plan: Plan, contract_id: str, budget: Decimal) -> list[Call]:
    """The budget lines and the sheet on the first morning, then every expense with its
    receipt, in the order they were paid."""
    buyer, agency = ("buyer_auditor", "street-office-1"), ("agency_admin", contract_id[2:])
    rng = random.Random(f"{plan.knobs.seed}/ledger")
    base, lines = f"/contracts/{contract_id}", _lines(budget)
    morning = _at(plan.start, 11)
    chain = [Call(buyer, "evaluation", base + "/ledger/budget", {"lines": lines}, at=morning),
             Call(buyer, "evaluation", base + "/sheet", {}, at=morning + timedelta(minutes=5))]
    recorded = morning
    for n, (day, line, amount, payee, what) in enumerate(_expenses(plan, lines, rng)):
        entered = _at(max(day, plan.start) + timedelta(days=rng.randint(1, 2)), 16,
                      rng.randint(0, 59))
        recorded = min(cap(plan), max(entered, recorded + timedelta(minutes=5)))
        receipt = Ref("receipt", (contract_id, n))
        with_receipt = n != 3  # one payment whose receipt never came
        if with_receipt:
            chain.append(Call(agency, "evaluation", base + "/ledger/receipts", at=recorded,
                              photo={"key": f"receipt/{contract_id}/{n}",
                                     "taken": f"{day} 15:00"}, produces=receipt))
        chain.append(Call(agency, "evaluation", base + "/ledger/expenses", {
            "spent_on": day.isoformat(), "amount": str(amount), "line": line,
            "payee_kind": payee, "description": what,
            "receipt_digests": [receipt] if with_receipt else []},
            at=recorded + timedelta(minutes=2)))
    return chain


def _cited(sessions: list[Call], first: date, due: date, before: datetime) -> list[Ref]:
    """A few sessions of the period, recorded by then, the evaluator cites."""
    held = [c.produces for c in sessions if first <= date.fromisoformat(c.body["date"]) <= due
            and c.at is not None and c.at <= before]
    return held[:: max(1, len(held) // 3)][:3]


def _review(contract_id: str, milestone: str, start: datetime, cited: list[Ref],
            decide: bool) -> list[Call]:
    agency, evaluator = ("agency_admin", contract_id[2:]), ("evaluator", contract_id)
    base = f"/contracts/{contract_id}/milestones/{milestone}/review"
    step = iter(range(100))

    def at() -> datetime:
        return start + timedelta(hours=next(step))
    chain = [Call(agency, "evaluation", f"{base}/items/{key}/self-assessment",
                  {"points": points, "note": note}, at=at())
             for key, (points, note) in SELF.items()]
    scores = (("project_management", "12.5", "实施方案完整，督导记录齐全；人员流动一次，补位及时。", []),
              ("professional_practice", "20", "抽查的小组与社区活动记录规范，签到与照片齐全；"
               "个案记录中服务计划与评估衔接不足。", cited),
              ("financial_management", "12", "预算执行与进度基本匹配，个别支出凭证缺失。", []),
              ("satisfaction", "13", "回访与满意度调查结果良好。", []))
    for key, points, comment, records in scores:
        chain.append(Call(evaluator, "evaluation", f"{base}/items/{key}/score", {
            "points": points, "comment": comment, "record_ids": records}, at=at()))
    chain.append(Call(agency, "evaluation", f"{base}/items/professional_practice/answer", {
        "text": "个案服务计划与评估记录已按要求补充，附三份个案的阶段评估表。"}, at=at()))
    chain.append(Call(evaluator, "evaluation", f"{base}/items/professional_practice/score", {
        "points": "21.5", "comment": "核实机构申辩所附材料后上调评分：个案阶段评估已补齐。",
        "record_ids": cited}, at=at()))
    if decide:
        chain.append(Call(("buyer_auditor", "street-office-1"), "evaluation",
                          f"{base}/decision", {"decision": "approve"}, at=at()))
    return chain


def review_chains(plan: Plan, contract_id: str, years) -> list[list[Call]]:
    """The mid-term evaluation after its milestone closed, decided; the final evaluation on
    the year's last day, its payment waiting for the milestone's closing."""
    sessions = [c for y in years for chain in y.work_chains for c in chain
                if c.path == "/sessions" and c.produces is not None]
    closed = {m for m, _, _ in late_milestones(plan)}
    chains = []
    for milestone, first, due in milestones(plan):
        if milestone in closed:
            start = closing_time(due) + timedelta(days=1)
            decide = True
        else:
            start, decide = cap(plan) - timedelta(hours=12), False
        chains.append(_review(contract_id, milestone, start,
                              _cited(sessions, first, due, start), decide))
    return chains
