"""The resident pages' calls to casework's resident door, server to server, with the
resident's own token (audience `casework:residents`): casework checks it and learns the
pseudonymous reference and the community, nothing more. A refusal comes back as the
ApiError casework gave (its status, reasons and fields); casework out of reach is a 503."""
import logging

import requests

from shared.config import service_url
from shared.errors import ApiError

TIMEOUT = 5
log = logging.getLogger(__name__)


def call(token: str, method: str, path: str, body: dict | None = None):
    """The JSON casework answers to `method /resident<path>`."""
    try:
        answer = requests.request(method, f"{service_url('casework')}/resident{path}",
                                  json=body, timeout=TIMEOUT,
                                  headers={"Authorization": f"Bearer {token}"})
    except requests.RequestException as exc:
        log.warning("casework's resident door %s %s: %s", method, path, exc)
        raise ApiError(503, "The community's records cannot be reached now: try again later",
                       "暂时无法连接社区服务记录，请稍后再试")
    if answer.status_code >= 400:
        raise _refusal(answer)
    return answer.json()


def _refusal(answer) -> ApiError:
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return ApiError(502 if answer.status_code >= 500 else answer.status_code)
    return ApiError(answer.status_code, error.get("message"), error.get("message_zh"),
                    fields=error.get("fields"), code=error.get("code"))
