"""The evaluation report of a milestone (评估报告): cover, the scorecard as of the due date
with its chart, the expert items with their comments and answers, spending by budget line,
anomalies and follow-up verification, the evidence index (record, file digest) and the head
(sequence, hash) of each source's event log the card was computed from, so anyone can check
the report against the logs later. `content` gathers it once; the page renders it as HTML
and `pdf` as a PDF in Chinese (or English), with the CJK font embedded."""
import io
import os
from datetime import date

import sqlalchemy as sa
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

from shared.clock import utcnow
from shared.errors import ApiError

from . import anomalies, attachments, ledger, measures, reviews, verification
from .milestones import card_for, held_heads, known_as_of, milestone_of
from .models import ClosedScorecard, VerificationSample, db, event_store

FONT_FILE = os.environ.get("SOCIALWORK_CJK_FONT",
                           "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # fonts-wqy-zenhei
FONT = "WenQuanYiZenHei"
LABELS = {
    "title": ("绩效评估报告", "Evaluation report"),
    "contract": ("合同", "Contract"), "agency": ("服务机构", "Agency"),
    "communities": ("服务社区", "Communities"), "period": ("合同期", "Period"),
    "milestone": ("付款节点", "Milestone"), "due": ("节点日期", "Due"),
    "as_of": ("数据截至（含补录期）", "Figures as recorded by"),
    "generated": ("生成时间", "Generated"), "total": ("评估总分", "Total"),
    "grade": ("评估等级", "Grade"), "recommended": ("建议支付", "Recommended payment"),
    "decision": ("购买方决定", "Buyer's decision"), "amount": ("支付金额", "Amount paid"),
    "reason": ("理由", "Reason"),
    "card": ("绩效记分卡（截至节点日期）", "Scorecard as of the due date"),
    "card_total": ("记分卡总分", "Scorecard total"), "dimension": ("维度", "Dimension"),
    "score": ("得分", "Score"), "items": ("专家评分项", "Expert-scored items"),
    "item": ("评分项", "Item"), "max": ("满分", "Max"), "weight": ("权重", "Weight"),
    "self": ("自评", "Self"), "points": ("评分", "Points"), "comment": ("评语", "Comment"),
    "answer": ("机构申辩", "Agency's answer"),
    "spending": ("经费使用（按预算科目）", "Spending by budget line"),
    "line": ("科目", "Line"), "budget": ("预算", "Budget"), "spent": ("支出", "Spent"),
    "rate": ("执行率", "Execution rate"), "no_ledger": ("本合同未设经费台账",
                                                     "The contract keeps no ledger"),
    "flagged": ("异常支出笔数", "Flagged expenses"),
    "anomalies": ("异常提示与回访核实", "Anomalies and verification"),
    "check": ("检查项", "Check"), "count": ("数量", "Count"),
    "verified": ("回访核实率", "Verified share"),
    "samples": ("回访样本", "Verification samples"),
    "evidence": ("佐证索引", "Evidence index"), "record": ("记录", "Record"),
    "digest": ("文件摘要 (SHA-256)", "File digest (SHA-256)"),
    "heads": ("事件日志头（可据此核对报告）", "Event log heads (to check this report)"),
    "source": ("来源", "Source"), "sequence": ("序号", "Sequence"),
    "hash": ("哈希", "Hash"), "none": ("无", "none"),
    "provisional": ("（节点未结算：暂定）", "(milestone not closed: provisional)"),
}
DECISIONS = {"approve": ("批准", "approved"), "hold": ("暂缓", "held"),
             "reduce": ("减付", "reduced")}


def label(key: str, lang: str) -> str:
    return LABELS[key][lang != "zh"]


# -- what the report says -------------------------------------------------------------------

def log_heads(closed: ClosedScorecard | None) -> list[dict]:
    """Per source evaluation consumes, the head of its log the card was computed from (kept
    when the milestone was closed; before that, the log held now); then evaluation's own
    log head now, which holds the review and the ledger."""
    heads = [dict(h) for h in (closed.log_heads if closed is not None and closed.log_heads
                               else held_heads())]
    own = db.session.get(event_store.SourceHead, event_store.source)
    heads.append({"source": event_store.source, "sequence": own.last_seq if own else 0,
                  "hash": own.last_hash if own else None})
    return heads


def _evidence_index(review: dict, spending: dict | None) -> list[dict]:
    """Every record the scores cite with its files, the files cited, and the receipts."""
    rows, cited = [], [r for i in review["items"] if i["score"] for r in i["score"]["records"]]
    files = attachments.files_of(r["record_id"] for r in cited)
    for record in cited:
        for f in files.get(record["record_id"], []) or [{"digest": None}]:
            rows.append({"record": f"{record.get('kind', '')} {record['record_id']}".strip(),
                         "digest": f["digest"]})
    for item in review["items"]:
        for f in (item["score"] or {}).get("files", []):
            rows.append({"record": f"{f.get('record_kind', '')} {f.get('record_id', '')}"
                         .strip(), "digest": f["digest"]})
    for expense in (spending or {}).get("expenses", []):
        for digest in expense["receipts"]:
            rows.append({"record": f"expense {expense['id'][:12]}", "digest": digest})
    unique = {(r["record"], r["digest"]): r for r in rows}
    return list(unique.values())


def _samples(contract) -> list[dict]:
    out = []
    for sample in db.session.scalars(sa.select(VerificationSample).where(
            VerificationSample.contract_id == contract.id).order_by(VerificationSample.drawn_at)):
        results = [item.result for item in sample.items]
        out.append({"id": sample.id, "kind": sample.kind, "size": len(results),
                    **{r: results.count(r) for r in verification.RESULTS},
                    "pending": results.count(None)})
    return out


def content(contract, milestone_id: str) -> dict:
    milestone = milestone_of(contract, milestone_id)
    review = reviews.result(contract, milestone_id)
    closed = db.session.get(ClosedScorecard, (contract.id, milestone_id))
    due = date.fromisoformat(str(milestone["due"]))
    as_of = closed.as_of if closed is not None and closed.as_of else \
        known_as_of(contract, due)
    card = closed.card if closed is not None else card_for(contract, due, as_of)
    scope = measures.Scope(tuple(contract.community_ids), contract.period_start, due,
                           as_of=as_of)
    spending = ledger.summary(contract, due, as_of) if ledger.budget_of(
        contract.id, as_of) else None
    found = anomalies.flags(scope, tuple(contract.evidence_required or ()))
    return {"contract": {"id": contract.id, "agency_id": contract.agency_id,
                         "community_ids": list(contract.community_ids),
                         "period_start": contract.period_start.isoformat(),
                         "period_end": contract.period_end.isoformat(),
                         "version": contract.version},
            "milestone": {"id": milestone_id, "due": due.isoformat(),
                          "closed": closed is not None},
            "as_of": as_of.isoformat(), "generated_at": utcnow().isoformat(),
            "card": {"total": card["total"], "dimensions": [
                {"key": d["key"], "name_zh": d["name_zh"], "name_en": d["name_en"],
                 "weight": d["weight"], "score": d["score"]} for d in card["dimensions"]]},
            "review": review, "spending": spending,
            "anomalies": found["counts"],
            "verification": {**verification.verified_share(contract, scope),
                             "samples": _samples(contract)},
            "evidence": _evidence_index(review, spending), "heads": log_heads(closed)}


# -- the PDF ----------------------------------------------------------------------------------

def _font() -> str:
    """The CJK font, embedded (a subset) in every report."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        if not os.path.isfile(FONT_FILE):  # a deployment without it: say so, not a 500
            raise ApiError(503, f"The report's Chinese font is not installed ({FONT_FILE}: "
                           "install fonts-wqy-zenhei or set SOCIALWORK_CJK_FONT)",
                           f"报告所需的中文字体未安装（{FONT_FILE}），请运维安装 fonts-wqy-zenhei "
                           "或设置 SOCIALWORK_CJK_FONT", code="report_font_missing")
        pdfmetrics.registerFont(TTFont(FONT, FONT_FILE, subfontIndex=0))
    return FONT


def _styles() -> dict:
    font = _font()
    base = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    return {"body": base, "small": ParagraphStyle("small", parent=base, fontSize=7.5,
                                                  leading=10),
            "h1": ParagraphStyle("h1", parent=base, fontSize=22, leading=30, spaceAfter=12),
            "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=10,
                                 spaceAfter=6)}


def _table(rows: list[list], styles: dict, widths=None, small=False) -> Table:
    style = styles["small" if small else "body"]
    cells = [[Paragraph(str(c) if c is not None else "—", style) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.93, 0.97)),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _chart(dimensions: list[dict], lang: str) -> Drawing:
    """The dimensions' scores (0-100) as horizontal bars."""
    drawing = Drawing(170 * mm, 12 * mm + 9 * mm * len(dimensions))
    chart = HorizontalBarChart()
    chart.x, chart.y = 35 * mm, 6 * mm
    chart.width, chart.height = 125 * mm, 9 * mm * len(dimensions)
    chart.data = [[d["score"] or 0 for d in reversed(dimensions)]]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.categoryAxis.categoryNames = [d["name_zh" if lang == "zh" else "name_en"]
                                        for d in reversed(dimensions)]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = _font()
    chart.bars[0].fillColor = colors.Color(0.2, 0.45, 0.75)
    drawing.add(chart)
    return drawing


def _cover(c: dict, lang: str, s: dict) -> list:
    review, contract = c["review"], c["contract"]
    grade = review["grade"]
    rows = [[label("contract", lang), f"{contract['id']} (v{contract['version']})"],
            [label("agency", lang), contract["agency_id"]],
            [label("communities", lang), "、".join(contract["community_ids"])],
            [label("period", lang), f"{contract['period_start']} – {contract['period_end']}"],
            [label("milestone", lang), c["milestone"]["id"]],
            [label("due", lang), c["milestone"]["due"]], [label("as_of", lang), c["as_of"]],
            [label("total", lang), review["total"]],
            [label("grade", lang), grade["label_zh" if lang == "zh" else "label_en"]
             if grade else None],
            [label("recommended", lang), review["recommended"]]]
    decision = review["decision"]
    if decision:
        rows += [[label("decision", lang), DECISIONS[decision["decision"]][lang != "zh"]],
                 [label("amount", lang), decision["amount"]],
                 [label("reason", lang), decision["reason"]]]
    rows.append([label("generated", lang), c["generated_at"]])
    return [Paragraph(label("title", lang), s["h1"]), _table(rows, s, [45 * mm, 125 * mm])]


def _sections(c: dict, lang: str, s: dict) -> list:
    review, zh = c["review"], lang == "zh"
    flow = [Paragraph(label("card", lang) + ("" if c["milestone"]["closed"]
                                             else label("provisional", lang)), s["h2"]),
            Paragraph(f"{label('card_total', lang)}: {c['card']['total']}", s["body"]),
            _chart(c["card"]["dimensions"], lang),
            _table([[label("dimension", lang), label("weight", lang), label("score", lang)]]
                   + [[d["name_zh" if zh else "name_en"], d["weight"], d["score"]]
                      for d in c["card"]["dimensions"]], s),
            Paragraph(label("items", lang), s["h2"]),
            _table([[label("item", lang), label("max", lang), label("weight", lang),
                     label("self", lang), label("points", lang), label("comment", lang),
                     label("answer", lang)]]
                   + [[i["title_zh" if zh else "title_en"], i["max_points"], i["weight"],
                       (i["self"] or {}).get("points"), i["points"],
                       (i["score"] or {}).get("comment"), (i["answer"] or {}).get("text")]
                      for i in review["items"]], s,
                   [28 * mm, 12 * mm, 12 * mm, 13 * mm, 14 * mm, 56 * mm, 40 * mm], small=True),
            Paragraph(label("spending", lang), s["h2"])]
    spending = c["spending"]
    if spending is None:
        flow.append(Paragraph(label("no_ledger", lang), s["body"]))
    else:
        flow += [_table([[label("line", lang), label("budget", lang), label("spent", lang),
                          label("rate", lang)]]
                        + [[line["label_zh" if zh else "label_en"], line["amount"],
                            line["spent"], line["execution_rate"]] for line in spending["lines"]]
                        + [["Σ", spending["budget"], spending["spent"],
                            spending["execution_rate"]]], s),
                 Paragraph(f"{label('flagged', lang)}: {spending['flagged']}", s["body"])]
    verified = c["verification"]
    flow += [Paragraph(label("anomalies", lang), s["h2"]),
             _table([[label("check", lang), label("count", lang)]]
                    + [[k, v] for k, v in sorted(c["anomalies"].items())], s),
             Paragraph(f"{label('verified', lang)}: {verified.get('value')}"
                       f" ({verified.get('numerator')}/{verified.get('denominator')})",
                       s["body"]),
             Paragraph(label("evidence", lang), s["h2"]),
             _table([[label("record", lang), label("digest", lang)]]
                    + [[e["record"], e["digest"]] for e in c["evidence"]]
                    if c["evidence"] else [[label("record", lang), label("digest", lang)],
                                           [label("none", lang), ""]], s,
                    [50 * mm, 120 * mm], small=True),
             Paragraph(label("heads", lang), s["h2"]),
             _table([[label("source", lang), label("sequence", lang), label("hash", lang)]]
                    + [[h["source"], h["sequence"], h["hash"]] for h in c["heads"]], s,
                    [25 * mm, 25 * mm, 120 * mm], small=True)]
    return flow


def pdf(c: dict, lang: str = "zh") -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm,
                            title=f"{label('title', lang)} {c['contract']['id']} "
                                  f"{c['milestone']['id']}", invariant=1)
    styles = _styles()
    doc.build([*_cover(c, lang, styles), Spacer(1, 8 * mm), PageBreak(),
               *_sections(c, lang, styles)])
    return out.getvalue()
