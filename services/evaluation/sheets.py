"""Scoring sheets: what a contract's interim and final evaluations score. Each item has its
maximum points and weight, the evidence it needs and who scores it (the evaluator; the
agency's self-assessment first, then the evaluator; or computed from the milestone's
scorecard); the grade bands turn the sheet's total into a grade. The buyer defines the
sheet, every version kept, like the contract's terms; the default is modelled on common
practice (docs/EVALUATION.md says where from)."""
from decimal import Decimal

import sqlalchemy as sa

from shared.i18n import bilingual

from .evidence import BEHIND
from .models import EvaluationSheet, db

HUNDRED, CENT = Decimal(100), Decimal("0.01")

DEFAULT_ITEMS = [
    {"key": "project_management", "title_zh": "项目管理", "title_en": "Project management",
     "max_points": "15", "weight": "15", "scorer": "self_then_evaluator", "source": None,
     "evidence_zh": "项目实施方案、人员配置与资质、督导记录、档案与制度",
     "evidence_en": "implementation plan, staffing and qualifications, supervision records, "
                    "files and rules", "measures": []},
    {"key": "professional_practice", "title_zh": "专业服务", "title_en": "Professional practice",
     "max_points": "25", "weight": "25", "scorer": "evaluator", "source": None,
     "evidence_zh": "个案、小组、社区工作的过程记录、签到与照片",
     "evidence_en": "process records of casework, group and community work, sign-in lists and "
                    "photos", "measures": ["sessions", "cases", "activities"]},
    {"key": "outcomes", "title_zh": "服务成效", "title_en": "Outcomes",
     "max_points": "30", "weight": "30", "scorer": "computed", "source": "total",
     "evidence_zh": "合同绩效指标得分（截至节点日期，含补录期）",
     "evidence_en": "the contract's scorecard total as of the milestone's due date and "
                    "late-entry days", "measures": []},
    {"key": "financial_management", "title_zh": "财务管理", "title_en": "Financial management",
     "max_points": "15", "weight": "15", "scorer": "self_then_evaluator", "source": None,
     "evidence_zh": "预算执行情况、支出凭证、专款专用",
     "evidence_en": "budget execution, receipts, funds used for the project only",
     "measures": []},
    {"key": "satisfaction", "title_zh": "服务对象满意度", "title_en": "Satisfaction",
     "max_points": "15", "weight": "15", "scorer": "evaluator", "source": None,
     "evidence_zh": "满意度调查、回访核实记录", "evidence_en": "satisfaction survey, "
     "follow-up verification", "measures": ["verified_share"]},
]
DEFAULT_BANDS = [
    {"grade": "excellent", "label_zh": "优秀", "label_en": "Excellent", "min": "90"},
    {"grade": "good", "label_zh": "良好", "label_en": "Good", "min": "80"},
    {"grade": "pass", "label_zh": "合格", "label_en": "Pass", "min": "60"},
    {"grade": "fail", "label_zh": "不合格", "label_en": "Fail", "min": "0"},
]

WEIGHTS_NOT_100 = bilingual("The items' weights must add up to 100", "各评分项权重之和须为 100")
DUPLICATE_KEY = bilingual("Two items have the same key", "评分项编号重复")
BAD_SOURCE = bilingual("A computed item takes 'total' or 'dimension:<key>' of the contract's "
                       "framework; other items take none",
                       "计算项的来源须为 total 或 dimension:<维度>，其他评分项不填来源")
UNKNOWN_MEASURE = bilingual("Not a measure with records behind it", "不是可下钻的指标")
BANDS_NEED_ZERO = bilingual("The bands need one starting at 0, each at a different minimum "
                            "and with a different grade",
                            "等级须有一个从 0 起，且各等级的最低分与名称互不相同")
ABOVE_100 = bilingual("A band's minimum is at most 100", "等级最低分不能超过 100")


def default_sheet() -> dict:
    return {"items": [dict(item) for item in DEFAULT_ITEMS],
            "bands": [dict(band) for band in DEFAULT_BANDS]}


def _source_ok(item: dict, dimensions: set) -> bool:
    source = item.get("source")
    if item["scorer"] != "computed":
        return source is None
    if source == "total":
        return True
    return bool(source) and source.startswith("dimension:") and \
        source.removeprefix("dimension:") in dimensions


def problems(sheet: dict, framework: list[dict]) -> dict:
    """What is wrong with a sheet for a contract of this framework, by field."""
    found, items, dimensions = {}, sheet["items"], {d["key"] for d in framework}
    if sum(Decimal(str(i["weight"])) for i in items) != HUNDRED:
        found["items"] = [WEIGHTS_NOT_100]
    if len({i["key"] for i in items}) != len(items):
        found["items"] = [DUPLICATE_KEY]
    for n, item in enumerate(items):
        if not _source_ok(item, dimensions):
            found[f"items.{n}.source"] = [BAD_SOURCE]
        if any(m not in BEHIND for m in item.get("measures", ())):
            found[f"items.{n}.measures"] = [UNKNOWN_MEASURE]
    bands = sheet["bands"]
    if (not any(Decimal(str(b["min"])) == 0 for b in bands)
            or len({Decimal(str(b["min"])) for b in bands}) != len(bands)
            or len({b["grade"] for b in bands}) != len(bands)):
        found["bands"] = [BANDS_NEED_ZERO]
    if any(Decimal(str(b["min"])) > HUNDRED for b in bands):
        found["bands"] = [ABOVE_100]
    return found


def current(contract_id: str) -> EvaluationSheet | None:
    return db.session.scalar(sa.select(EvaluationSheet).where(
        EvaluationSheet.contract_id == contract_id).order_by(
        EvaluationSheet.version.desc()).limit(1))


def version(contract_id: str, number: int) -> EvaluationSheet:
    return db.session.get(EvaluationSheet, (contract_id, number))


def grade(bands: list[dict], total: Decimal | None) -> dict | None:
    """The band the total falls in: the highest whose minimum it reaches."""
    if total is None:
        return None
    return max((b for b in bands if total >= Decimal(str(b["min"]))),
               key=lambda b: Decimal(str(b["min"])))


def computed_points(item: dict, card: dict | None) -> Decimal | None:
    """A computed item's points: the card's total or a dimension's score (0-100) scaled to
    the item's maximum; none where the card has no figure."""
    if card is None:
        return None
    if item["source"] == "total":
        figure = card["total"]
    else:
        key = item["source"].removeprefix("dimension:")
        figure = next((d["score"] for d in card["dimensions"] if d["key"] == key), None)
    if figure is None:
        return None
    return (Decimal(str(figure)) * Decimal(str(item["max_points"])) / HUNDRED).quantize(CENT)


def total(items: list[dict], points: dict) -> Decimal | None:
    """Σ weight × points / maximum over the items with points, the weights renormalised
    over them (an item without a figure is left out, as the scorecard does): 0-100."""
    scored = [(Decimal(str(i["weight"])), points[i["key"]] / Decimal(str(i["max_points"])))
              for i in items if points.get(i["key"]) is not None
              and Decimal(str(i["max_points"])) > 0]
    weights = sum(w for w, _ in scored)
    if not weights:
        return None
    return (sum(w * share for w, share in scored) * HUNDRED / weights).quantize(CENT)
