"""The platform's one clock: every recorded time (an event's CloudEvents `time`, the
`created_at`, `recorded_at`, `corrected_at` … columns, a record's default day) is read
from `utcnow()` (or `today()`), nowhere else.

It is the machine's clock, except in development with SOCIALWORK_CLOCK=header: then a
request may say when it happens with the X-Socialwork-Clock header (an RFC 3339 time with
its offset, not in the future), so a simulator can play a year of records at the times they
would have been recorded at (the T-community scenario, docs/SCENARIO.md). Production
refuses to start with the setting, and without it a request carrying the header is refused:
a recorded time is never silently taken from a client."""
import contextvars
import os
from datetime import date, datetime, timedelta, timezone

from . import config
from .errors import ApiError
from .i18n import bilingual
from .localtime import COMMUNITY_ZONE

SETTING = "SOCIALWORK_CLOCK"
HEADER = "X-Socialwork-Clock"
LEEWAY = timedelta(seconds=5)  # a client's clock a little ahead of the server's is not
# the future
EARLIEST_DAY = date(1900, 1, 1)  # no recorded time, and no date any field takes, is before it

_moment: contextvars.ContextVar = contextvars.ContextVar("socialwork_clock", default=None)

NOT_ENABLED = bilingual("This platform takes its time from its own clock: the "
                        f"{HEADER} header is accepted only in development with "
                        f"{SETTING}=header", f"本平台使用自身时钟：仅在开发环境设置 "
                        f"{SETTING}=header 时接受 {HEADER} 请求头")
NOT_A_TIME = bilingual("must be an RFC 3339 time with its offset, not in the future nor "
                       "before 1900", "须为带时区偏移的 RFC 3339 时间，不得晚于当前时间或早于1900年")
BAD_TIME = bilingual(f"{HEADER} must be an RFC 3339 time with its offset, not in the future "
                     "nor before 1900", f"{HEADER} 须为带时区偏移的 RFC 3339 时间，"
                     "不得晚于当前时间或早于1900年")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: the request's simulated moment if it has one."""
    moment = _moment.get()
    return moment if moment is not None else datetime.now(timezone.utc)


def today() -> date:
    """The community's date of `utcnow()` (Asia/Shanghai): from 16:00 UTC it is already
    tomorrow there, and a default day or range end must say so, as every record's day does."""
    return utcnow().astimezone(COMMUNITY_ZONE).date()


def enabled() -> bool:
    return os.environ.get(SETTING, "") == "header"


def check_configured() -> None:
    """At start: the setting names a known source, and only where development is allowed
    (the same posture as development keys: config.development_keys)."""
    value = os.environ.get(SETTING, "")
    if not value:
        return
    if value != "header":
        raise config.ConfigError(f"{SETTING} must be 'header' or unset, not {value!r}")
    if not config.development_keys():
        raise config.ConfigError(f"{SETTING} is for development only: production takes its "
                                 f"time from the machine's clock (unset {SETTING})")


def _parse(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment.astimezone(timezone.utc) if moment.tzinfo else None
    except (ValueError, OverflowError):  # year 1 at +14:00 is before what a datetime holds
        moment = None
    if moment is None or moment > datetime.now(timezone.utc) + LEEWAY or \
            moment.date() < EARLIEST_DAY:
        raise ApiError(422, BAD_TIME, fields={HEADER: [NOT_A_TIME]})
    return moment


def request_started():
    """Flask before_request: the header's moment holds for the rest of the request."""
    from flask import g, request
    value = request.headers.get(HEADER)
    if value is None:
        return
    if not enabled():
        raise ApiError(400, NOT_ENABLED, code="clock_not_enabled")
    g.clock_token = _moment.set(_parse(value))


def request_ended(_exc):
    from flask import g
    token = g.pop("clock_token", None)
    if token is not None:
        _moment.reset(token)
