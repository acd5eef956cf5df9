"""Exports for the buyer's files: the scorecard and any drill-down as CSV or Excel (openpyxl),
each opening with the contract, its version, the scope and the as-of date, so a file read
months later still says what it is."""
import csv
import io
from datetime import date, time
from decimal import Decimal

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from shared.clock import utcnow

from .framework import MEASURES

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def jsonable(value):
    """Dates, times and decimals as text (ISO for dates), inside any rows, flags or terms."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, time, Decimal)):
        return str(value)
    return value


def heading(contract, scope) -> list[tuple[str, str]]:
    return [("合同 / contract", contract.id), ("版本 / version", str(contract.version)),
            ("起 / from", scope.start.isoformat()), ("止 / to", scope.end.isoformat()),
            ("记录截至 / recorded as of",
             scope.as_of.isoformat() if scope.as_of else "导出时 / at export"),
            ("网格 / grid", scope.grid_id or "全部 / all"),
            ("导出时间 / exported at",
             utcnow().isoformat(timespec="seconds"))]


def scorecard_table(card: dict) -> tuple[list[str], list[list]]:
    header = ["dimension", "measure", "name_zh", "name_en", "unit", "weight", "target",
              "value", "score", "band", "monitored"]
    rows = [[d["key"], i["measure"], *_names(i["measure"]), i["unit"], i["weight"],
             i["target"], i["value"], i["score"], i["band"], i["monitored"]]
            for d in card["dimensions"] for i in d["indicators"]]
    rows += [[d["key"], "", d["name_zh"], d["name_en"], "", d["weight"], "", "",
              d["score"], d["band"], ""] for d in card["dimensions"]]
    rows.append(["total", "", "总分", "total", "", 100, "", "", card["total"], card["band"], ""])
    rows += [["ladder (at or above)", rung, "", "", "residents", "", "", count, "", "", ""]
             for rung, count in card["ladder"]["at_least"].items()]
    rows += [["output", key, "", "", "", "", card["targets"].get(key), value, "", "", ""]
             for key, value in card["outputs"].items()]
    rows += [["payment", p["milestone_id"], "", "", "yuan", p["share"], p["min_score"],
              p["recommended"], "", "", ""] for p in card["payments"]]
    return header, rows


def _names(measure: str) -> tuple[str, str]:
    zh, en, _, _ = MEASURES[measure]
    return zh, en


def records_table(records: list[dict]) -> tuple[list[str], list[list]]:
    header = list(dict.fromkeys(k for r in records for k in r))
    return header, [[_cell(r.get(k)) for k in header] for r in records]


def _cell(value):
    """A list as its items joined by spaces (a record's files: by their digests)."""
    value = jsonable(value)
    if not isinstance(value, list):
        return value
    return " ".join(v["digest"] if isinstance(v, dict) else str(v) for v in value)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def inert(value):
    """A text cell a spreadsheet would take for a formula (a grid id of `=1+2`, a name of
    `@SUM(...)`), quoted with a leading apostrophe, as spreadsheets quote text; numbers,
    dates and other text stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def download(fmt: str, name: str, meta, header: list[str], rows: list[list]) -> Response:
    """Every cell of every export passes through `inert`."""
    meta = [[inert(v) for v in line] for line in meta]
    header, rows = [inert(v) for v in header], [[inert(v) for v in row] for row in rows]
    body = _csv(meta, header, rows) if fmt == "csv" else _xlsx(meta, header, rows)
    return Response(body, mimetype=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _csv(meta, header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(meta)
    writer.writerow([])
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()  # the BOM lets Excel read the Chinese


def _storable(value):
    """Control characters (a grid id typed with one) cannot be kept in a worksheet: dropped."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _xlsx(meta, header, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    for label, value in meta:
        sheet.append([label, _storable(value)])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sheet.append([])
    sheet.append([_storable(v) for v in header])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_storable(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
