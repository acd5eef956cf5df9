"""Bulk import of a community's roster from CSV or Excel, the way communities keep them.

Each row is checked and written on its own savepoint: good rows go in with their events,
a bad row is reported by its row number (as the clerk sees it in the sheet) and reason,
and no row is ever half-written."""
import csv
import io
from datetime import date, datetime

from marshmallow import ValidationError

from shared.errors import ApiError
from shared.i18n import bilingual, translate

from .models import db
from .residents import DuplicateResident, build, log_duplicate
from .schemas import ResidentIn

MAX_ROWS = 10_000
MAX_COLUMNS = 100
COLUMNS = {  # header as found in rosters -> field
    "姓名": "name", "name": "name", "性别": "gender", "gender": "gender",
    "出生日期": "birth_date", "birth_date": "birth_date", "电话": "phone", "手机": "phone",
    "联系电话": "phone", "phone": "phone", "身份证号": "id_number", "身份证号码": "id_number",
    "id_number": "id_number", "网格": "grid_id", "grid_id": "grid_id", "户编号": "household_ref",
    "household_ref": "household_ref", "标记": "flags", "flags": "flags",
    "登记日期": "registered_on", "registered_on": "registered_on",
}
GENDERS = {"男": "male", "女": "female", "男性": "male", "女性": "female"}
FLAGS = {"独居": "living_alone", "残疾": "disability", "低保": "low_income",
         "低收入": "low_income"}
NUMERIC_ID = bilingual("The ID number is stored as a number in the sheet and lost digits; "
                       "format the column as text", "表格中身份证号被存为数字并丢失位数，请将该列设为文本")
UNREADABLE = bilingual("The file is not a readable CSV or Excel (.xlsx) sheet",
                       "文件不是可读取的 CSV 或 Excel (.xlsx) 表格")
NO_NAME_COLUMN = bilingual("The sheet has no name (姓名) column", "表格中没有“姓名”列")
TOO_LARGE_SHEET = bilingual(
    f"The sheet declares more than {MAX_ROWS} rows or {MAX_COLUMNS} columns",
    f"表格声明的行数超过 {MAX_ROWS} 或列数超过 {MAX_COLUMNS}")
TOO_MANY = bilingual(f"At most {MAX_ROWS} rows per import", f"每次导入最多 {MAX_ROWS} 行")


def _rows_csv(raw: bytes):
    text = raw.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _rows_xlsx(raw: bytes):
    """Streamed (read-only): the sheet's declared size is checked before any row is read,
    and no more than MAX_ROWS rows of MAX_COLUMNS cells are ever taken, whatever it
    declares (a few KB can declare a million rows of sixteen thousand columns)."""
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
    if (sheet.max_row or 0) > MAX_ROWS + 1 or (sheet.max_column or 0) > MAX_COLUMNS:
        raise ApiError(422, fields={"file": [TOO_LARGE_SHEET]})
    rows = sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
    return [list(row) for row in rows]


def read_sheet(filename: str, raw: bytes) -> list[list]:
    try:
        return _rows_xlsx(raw) if filename.lower().endswith(".xlsx") else _rows_csv(raw)
    except ApiError:
        raise
    except Exception as exc:
        raise ApiError(422, fields={"file": [UNREADABLE]}) from exc


def _cell(field: str, value):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field == "id_number" and isinstance(value, (int, float)):
        raise ValidationError({"id_number": [NUMERIC_ID]})
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    value = str(value).strip()
    if field == "gender":
        return GENDERS.get(value, value)
    if field == "flags":
        parts = [p.strip() for p in value.replace("、", ",").replace(";", ",").split(",")]
        return [FLAGS.get(p, p) for p in parts if p]
    return value


def _field_of(heading) -> str | None:
    key = str(heading).strip() if heading is not None else ""
    return COLUMNS.get(key) or COLUMNS.get(key.lower())


def _record(header: list, row: list, community_id: str) -> dict:
    record = {"community_id": community_id}
    for field, value in zip(header, row):
        if field:
            cleaned = _cell(field, value)
            if cleaned is not None:
                record[field] = cleaned
    return record


def import_roster(filename: str, raw: bytes, community_id: str, claims) -> dict:
    rows = read_sheet(filename, raw)
    if not rows:
        raise ApiError(422, fields={"file": [UNREADABLE]})
    header = [_field_of(h) for h in rows[0]]
    if "name" not in header:
        raise ApiError(422, fields={"file": [NO_NAME_COLUMN]})
    if len(rows) - 1 > MAX_ROWS:
        raise ApiError(422, fields={"file": [TOO_MANY]})
    imported, failed = [], []
    for number, row in enumerate(rows[1:], start=2):  # row 1 is the header
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        savepoint = db.session.begin_nested()
        try:
            data = ResidentIn().load(_record(header, row, community_id))
            imported.append(build(data, claims).ref)
            savepoint.commit()
        except ValidationError as exc:
            savepoint.rollback()
            failed.append({"row": number, "errors": exc.messages,
                           "errors_zh": translate(exc.messages)})
        except ApiError as exc:
            savepoint.rollback()
            if isinstance(exc, DuplicateResident):  # logged, outside the row's savepoint
                log_duplicate(claims, exc)
            errors = exc.fields or {"row": [exc.message]}
            failed.append({"row": number, "errors": errors, "errors_zh": translate(
                exc.fields) if exc.fields else {"row": [exc.message_zh]}})
    return {"imported": len(imported), "residents": [{"ref": r} for r in imported],
            "failed": failed}
