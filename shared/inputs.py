"""What every request must be before any view reads it, checked once for all three services
(before the schemas, which bound each field: shared/fields.py): a body no larger than
MAX_BODY_BYTES (413), JSON nested at most MAX_DEPTH deep with finite numbers of at most
MAX_DIGITS digits, and no string anywhere (JSON, query, form, keys included) holding NUL or
a lone surrogate, which no database column and no UTF-8 file can hold (422, naming where).
Limits are documented in docs/OPERATIONS.md ("Input limits")."""
import json
import math

from flask import current_app, request

from .errors import ApiError
from .i18n import bilingual

MAX_BODY_BYTES = 4 * 1024 * 1024  # an Excel roster of 10,000 rows fits; any JSON body does
MAX_DEPTH = 32
MAX_DIGITS = 30

NESTED = bilingual(f"Nested more than {MAX_DEPTH} levels deep", f"嵌套超过 {MAX_DEPTH} 层")
NOT_FINITE = bilingual("Not a finite number", "不是有限数值")
TOO_MANY_DIGITS = bilingual(f"A number of more than {MAX_DIGITS} digits",
                            f"数字超过 {MAX_DIGITS} 位")
NUL = bilingual("The text holds a NUL character", "文本含有空字符 (NUL)")
SURROGATE = bilingual("The text holds a lone surrogate (not a character)",
                      "文本含有孤立代理项（不是有效字符）")
NOT_JSON = bilingual("The body is not valid UTF-8 JSON", "请求体不是有效的 UTF-8 JSON")


class _Refused(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _refuse(reason: str):
    def parse(_text):
        raise _Refused(reason)
    return parse


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999999 reads as infinity
        raise _Refused(NOT_FINITE)
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(TOO_MANY_DIGITS)
    return int(text)


def text_problem(text: str) -> str | None:
    """Why a string cannot be kept, or None."""
    if "\x00" in text:
        return NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE
    return None


def strict_json(raw: bytes):
    """JSON as the API takes it; ApiError(422) naming the first thing refused."""
    try:
        value = json.loads(raw, parse_constant=_refuse(NOT_FINITE), parse_float=_float,
                           parse_int=_int)
    except _Refused as refused:
        raise ApiError(422, fields={"json": [refused.reason]}) from None
    except RecursionError:
        raise ApiError(422, fields={"json": [NESTED]}) from None
    except ValueError:  # not JSON, not UTF-8: what webargs would say, as a 422
        raise ApiError(422, fields={"json": [NOT_JSON]}) from None
    _walk(value)
    return value


def _walk(value) -> None:
    """Depth and strings, without recursion: [(value, path, depth)]."""
    stack = [(value, "json", 1)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError(422, fields={path: [NESTED]})
        if isinstance(item, str):
            _check_text(path, item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(path, key)
                stack.append((child, f"{path}.{key}" if path != "json" else key, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))


def _check_text(where: str, text: str) -> None:
    if problem := text_problem(text):
        raise ApiError(422, fields={where: [problem]})


def _check_pairs(where: str, pairs) -> None:
    for key, value in pairs.items(multi=True):
        _check_text(where, key)
        _check_text(key, value)


def check_request() -> None:
    """before_request: refuse what no view can take (see the module's doc)."""
    _check_pairs("query", request.args)
    # a service that takes files may allow an upload more (casework: MAX_CONTENT_LENGTH)
    limit = (current_app.config["MAX_CONTENT_LENGTH"] or MAX_BODY_BYTES
             if request.mimetype == "multipart/form-data" else MAX_BODY_BYTES)
    if request.content_length and request.content_length > limit:
        raise ApiError(413, limit_bytes=limit)
    if request.is_json and request.method in ("POST", "PUT", "PATCH"):
        raw = request.get_data(cache=True)
        if raw:
            strict_json(raw)
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_pairs("form", request.form)


def init_app(app) -> None:
    # Flask's default is None (no limit), which setdefault would keep
    app.config["MAX_CONTENT_LENGTH"] = app.config.get("MAX_CONTENT_LENGTH") or MAX_BODY_BYTES
    app.before_request(check_request)
