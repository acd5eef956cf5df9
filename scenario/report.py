"""The contract scorecard in a terminal, as the buyer would read it from evaluation's API:
dimensions, indicators with weight, target, value and score, the total and payments, outputs
against targets, and the participation ladder."""
import unicodedata
from datetime import date, timedelta

from shared.vocabulary import RUNGS

from .client import Client
from .plan import BUYER

LABEL = 58  # terminal cells for an indicator's names


def _cells(text: str) -> int:
    """Terminal width: Chinese characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _label(text: str, width: int = LABEL) -> str:
    """Cut to `width` cells (with an ellipsis) and pad to it."""
    if _cells(text) > width:
        while _cells(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _cells(text))


def _figure(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "share":
        return f"{100 * value:.1f}%"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def _points(score) -> str:
    return "  —  " if score is None else f"{score:5.1f}"


def scorecard_lines(card: dict, contract: dict, names: dict) -> list[str]:
    scope = card["scope"]
    lines = [f"合同 contract {contract['id']} · 机构 agency {contract['agency_id']} · 社区 "
             f"{', '.join(scope['communities'])} · {scope['from']} → {scope['to']}",
             f"  总分 total {_points(card['total'])}  (band {card['band'] or '—'} of 5)",
             f"  {_label('维度 / 指标 dimension / indicator', LABEL + 2)} {'weight':>7} "
             f"{'target':>9} {'value':>9} {'score':>6}"]
    for d in card["dimensions"]:
        lines.append(f"  {_label(d['name_zh'] + ' ' + d['name_en'], LABEL + 2)} "
                     f"{d['weight']:>7g} {'':>9} {'':>9} {_points(d['score']):>6}")
        for i in d["indicators"]:
            zh, en = names.get(i["measure"], (i["measure"], ""))
            weight = "monitor" if i["monitored"] else f"{i['weight']:g}"
            lines.append(f"    {_label(zh + ' ' + en)} {weight:>7} "
                         f"{_figure(i['target'], i['unit']):>9} "
                         f"{_figure(i['value'], i['unit']):>9} {_points(i['score']):>6}")
    out, target = card["outputs"], card["targets"]
    lines.append("  产出 outputs: " + " · ".join(
        f"{key.replace('_', ' ')} {_figure(out[key], '')}/{_figure(target.get(key, 0), '')}"
        for key in ("cases", "sessions", "service_hours", "activities")))
    lines.append("  付款 payments: " + " · ".join(
        f"{p['milestone_id']} ({p['share']:.0%} due {p['due']}, min {p['min_score']:g}): "
        f"{p['recommended']} yuan{' in full' if p['full'] else ''}" for p in card["payments"]))
    ladder = card["ladder"]
    steps = [f"{rung} {ladder['at_least'][rung]:,}" for rung in RUNGS]
    rates = [f"{low}→{high} {_figure(ladder['conversion'][f'{low}_to_{high}']['value'], 'share')}"
             for low, high in zip(RUNGS, RUNGS[1:])]
    lines.append("  参与阶梯 participation ladder (residents at or above each rung): "
                 + " · ".join(steps))
    lines.append("    conversion: " + " · ".join(rates))
    return lines


TRENDS = ("dependency_ratio", "digital_channel_share")


def quarters(start: date, end: date) -> list[tuple[date, date]]:
    """The period cut into four (about) equal parts."""
    days = (end - start).days + 1
    cuts = [start + timedelta(days=round(q * days / 4)) for q in range(5)]
    return [(cuts[q], cuts[q + 1] - timedelta(days=1)) for q in range(4)]


def trend_lines(client: Client, contract_id: str, scope: dict, actor) -> list[str]:
    """Quarter by quarter: is dependence falling and participation growing?"""
    lines = ["  分季度 by quarter of the period: resident-led share · digital channels · "
             "residents taking part (participant or above)"]
    parts = quarters(date.fromisoformat(scope["from"]), date.fromisoformat(scope["to"]))
    for q, (start, end) in enumerate(parts, start=1):
        card = client.get("evaluation", f"/contracts/{contract_id}/scorecard", actor,
                          **{"from": start.isoformat(), "to": end.isoformat()})
        values = {i["measure"]: i["value"] for d in card["dimensions"]
                  for i in d["indicators"]}
        lines.append(f"    Q{q} {start} → {end}: " + " · ".join(
            _figure(values.get(k), "share") for k in TRENDS)
            + f" · {card['ladder']['at_least']['participant']:,}")
    return lines


def _summary(card: dict) -> str:
    out = card["outputs"]
    return (f"total {_points(card['total']).strip()} · " + " · ".join(
        f"{key.replace('_', ' ')} {_figure(out[key], '')}"
        for key in ("cases", "sessions", "service_hours", "activities"))
        + f" · participants {card['ladder']['at_least']['participant']:,}")


SHOWN_LATE = 8  # late entries printed under a milestone (all are counted)


def _plain(value) -> str:
    return "—" if value is None else f"{value:.4g}"


def milestone_lines(client: Client, contract: dict, actor) -> list[str]:
    """Each milestone's card as of its due date, as paid (its due date plus the late-entry
    allowance) and as known now, and what was recorded after it was paid."""
    lines = ["  付款节点 milestones: the card as of the due date · as paid (due date plus "
             f"{contract['late_entry_days']} late-entry days) · as known now"]
    base = f"/contracts/{contract['id']}"
    for milestone in contract["milestones"]:
        due, scope = milestone["due"], {"from": contract["period_start"], "to": milestone["due"]}
        response = client.request("GET", "evaluation", f"{base}/milestones/{milestone['id']}",
                                  actor)
        closed = response.json() if response.ok else None
        known = client.get("evaluation", f"{base}/scorecard", actor, **scope)
        on_due = client.get("evaluation", f"{base}/scorecard", actor, as_of=due, **scope)
        if closed is None:  # not paid yet (the scenario closes one once its allowance ran out)
            allowance = date.fromisoformat(due) + timedelta(days=contract["late_entry_days"])
            lines += [f"    {milestone['id']} (due {due}): not closed; its late-entry allowance "
                      f"runs to {allowance}", f"      due date   {_summary(on_due)}",
                      f"      known now  {_summary(known)}"]
            continue
        later = closed["post_close_changes"]["recorded_later"]
        kinds = sorted({e["kind"] for e in later["entries"]})
        lines += [f"    {milestone['id']} (due {due}, closed as of {closed['as_of'][:16]}):",
                  f"      due date   {_summary(on_due)}",
                  f"      as paid    {_summary(closed['card'])}",
                  f"      known now  {_summary(known)}",
                  f"      recorded after it was paid: {later['count']} "
                  + " · ".join(f"{k.replace('_', ' ')} "
                               f"{sum(e['kind'] == k for e in later['entries'])}" for k in kinds)]
        lines += [f"        {e['recorded_at'][:10]} {e['kind'].replace('_', ' ')}: "
                  f"{e['record_kind']} {e['record_id']} of {e['on']} ({e['type']})"
                  for e in later["entries"][:SHOWN_LATE]]
        changed = closed["post_close_changes"]["indicators"]
        if changed:  # some figures also read what happened after the period (docs/MEASURES.md)
            lines.append("      indicators since: " + " · ".join(
                f"{c['measure']} {_plain(c['value_at_close'])}→{_plain(c['value_now'])}"
                for c in changed))
    return lines


def evaluation_lines(client: Client, contract: dict, actor) -> list[str]:
    """Each milestone's expert review (sheet total, grade, payment recommended and decided)
    with where its report is, and the ledger's execution by line with its flagged entries."""
    base, lines = f"/contracts/{contract['id']}", []
    for milestone in contract["milestones"]:
        response = client.request("GET", "evaluation",
                                  f"{base}/milestones/{milestone['id']}/review", actor)
        if not response.ok:  # no sheet defined: nothing reviewed
            continue
        review = response.json()
        grade = review["grade"]
        decided = review["decision"]
        lines.append(
            f"  评估 evaluation {milestone['id']}: total {review['total'] or '—'} "
            f"{grade['label_zh'] + ' ' + grade['label_en'] if grade else ''} · recommended "
            f"{review['recommended']} of {review['full_share']} yuan · "
            + (f"decided: {decided['decision']} {decided['amount']}" if decided else
               "decision pending" + ("" if review["complete"] else
                                     f" ({len(review['pending'])} items to score)")))
        lines += [f"    {item['title_zh']} {item['points'] or '—'}/{item['max_points']}"
                  + (" · answered 申辩" if item["answer"] else "") for item in review["items"]]
        lines.append(f"    report: /ui{base}/milestones/{milestone['id']}/report "
                     f"(PDF: {base}/milestones/{milestone['id']}/report/pdf)")
    response = client.request("GET", "evaluation", f"{base}/ledger", actor)
    if response.ok:
        ledger = response.json()
        lines.append(f"  经费 ledger: budget {ledger['budget']} · spent {ledger['spent']} · "
                     f"execution {_figure(float(ledger['execution_rate'] or 0), 'share')} · "
                     f"flagged {ledger['flagged']}")
        lines += [f"    {line['label_zh']} {line['spent']}/{line['amount']}"
                  + (" over budget 超预算" if line["over_budget"] else "")
                  for line in ledger["lines"]]
    return lines


def fund_lines(client: Client, contract: dict, actor) -> list[str]:
    """Each micro-fund of the contract's communities as its notice (公示) shows it: the
    count online and on paper, each project's votes and outcome, and the money."""
    lines = []
    for community in contract["community_ids"]:
        for fund in client.get("casework", "/funds", actor, community_id=community):
            shown = client.get("casework", f"/funds/{fund['id']}/results", actor)
            money = fund["totals"]
            lines.append(f"  微实事 micro-fund {community} {fund['year']} ({fund['voting_rule']}, "
                         f"{fund['amount']} yuan, phase {fund['phase']}): voters "
                         f"{shown['voters']} (online {shown['voters_online']}, paper "
                         f"{shown['voters_paper']}) · allocated {money['allocated']} · spent "
                         f"{money['spent']} · remaining {money['remaining']}")
            lines += [f"    #{o['number']} {o['title']} ({o['category']}): {o['votes']} votes, "
                      f"{o['cost']} yuan, {o['reason'].replace('_', ' ')}"
                      for o in shown["outcomes"]]
            lines += [f"    #{d['number']} {d['title']}: {d['status']}"
                      + (f" ({d['reason']})" if d.get("reason") else "")
                      for d in shown["declined"]]
    return lines


def scorecards(client: Client, buyer: str = BUYER) -> str:
    """Every contract of the buyer, scored over its year to date, and by quarter."""
    actor = ("buyer_auditor", buyer)
    names = {m["key"]: (m["name_zh"], m["name_en"])
             for m in client.get("evaluation", "/templates/default", actor)["measures"]}
    blocks = []
    for contract in client.get("evaluation", "/contracts", actor):
        card = client.get("evaluation", f"/contracts/{contract['id']}/scorecard", actor)
        lines = scorecard_lines(card, contract, names)
        lines += trend_lines(client, contract["id"], card["scope"], actor)
        lines += milestone_lines(client, contract, actor)
        lines += evaluation_lines(client, contract, actor)
        lines += fund_lines(client, contract, actor)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "(no contracts yet)"
