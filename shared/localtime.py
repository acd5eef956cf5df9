"""The community's time: a day is the date in China (Asia/Shanghai, UTC+8 all year, no
summer time since 1991), not the UTC date, so a need recorded at 07:00 in Chongqing belongs
to that day. Instants are kept in UTC; days are read in the community's zone."""
from datetime import date, datetime, time, timedelta, timezone

COMMUNITY_ZONE = timezone(timedelta(hours=8), "Asia/Shanghai")


def instant(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 timestamp as an aware datetime; one without an offset is read
    in the community's zone."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=COMMUNITY_ZONE)


def local_day(value: str) -> date:
    """The community's date of a field that is a date (`2026-03-01`, taken as written) or a
    timestamp (converted to Asia/Shanghai first)."""
    if len(value) <= 10:
        return date.fromisoformat(value)
    return instant(value).astimezone(COMMUNITY_ZONE).date()


def end_of_day(day: date) -> datetime:
    """The last instant of the community's day, in UTC: `as of 2026-06-01` means everything
    recorded before midnight that night in China."""
    midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=COMMUNITY_ZONE)
    return (midnight - timedelta(microseconds=1)).astimezone(timezone.utc)
