"""JSON errors for every API: status, a stable code, the reason in Chinese and English,
and for invalid input the fields with their reasons (`fields` in English, `fields_zh`)."""
import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from .i18n import translate

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("bad_request", "请求格式错误", "The request is malformed"),
    401: ("unauthenticated", "需要有效的访问令牌", "A valid bearer token is required"),
    403: ("forbidden", "无权访问此资源", "This role or scope may not do this"),
    404: ("not_found", "资源不存在", "No such resource"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    409: ("conflict", "与现有记录冲突", "Conflicts with an existing record"),
    413: ("too_large", "请求体过大", "The request body is too large"),
    415: ("unsupported_media_type", "请求须为 JSON", "The request body must be JSON"),
    422: ("invalid_input", "输入数据无效", "The input is invalid"),
    500: ("internal_error", "服务器内部错误", "Internal server error"),
    503: ("unavailable", "服务暂不可用", "Service temporarily unavailable"),
}


class ApiError(Exception):
    """Raise from a view: becomes a JSON error with this status."""

    def __init__(self, status: int, message: str | None = None, message_zh: str | None = None,
                 fields: dict | None = None, code: str | None = None, **extra):
        default_code, default_zh, default_en = MESSAGES.get(status, MESSAGES[500])
        super().__init__(message or default_en)
        self.status, self.code = status, code or default_code
        self.message, self.message_zh = message or default_en, message_zh or default_zh
        self.fields, self.extra = fields, extra

    def body(self) -> dict:
        error = {"status": self.status, "code": self.code, "message": self.message,
                 "message_zh": self.message_zh}
        if self.fields:
            error["fields"] = self.fields
            error["fields_zh"] = translate(self.fields)
        error.update(self.extra)
        return {"error": error}


def _flatten(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {...}}); callers want field -> reasons."""
    flat = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            flat.update(errors)
        else:
            flat[location] = errors
    return flat


def _api_error(exc: ApiError):
    return jsonify(exc.body()), exc.status


def _http_error(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    fields = _flatten(data["messages"]) if "messages" in data else None
    message = None if exc.code in (401, 403, 404, 422) else exc.description
    error = ApiError(exc.code or 500, message=message, fields=fields)
    response = _api_error(error)
    headers = data.get("headers") or {}
    return response[0], response[1], headers


def _unexpected(exc: Exception):
    log.exception("unhandled error")
    return _api_error(ApiError(500))


def init_app(app) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
