"""How far an independent survey may reach into residents' contacts (docs/SURVEYS.md). One
rule, which evaluation checks when a wave is opened and its sample drawn, and intake again
before it releases a single name or phone."""
import math
from datetime import date, timedelta

CLOSE_MARGIN = timedelta(days=30)  # fieldwork may run this long past the contract's end
SAMPLE_SHARE = 0.2                 # a sample is at most a fifth of its frame,
SAMPLE_FLOOR = 30                  # or 30 residents where a fifth is fewer (a small frame),
SAMPLE_MOST = 400                  # and never more than 400 residents


def last_release_day(period_end: date) -> date:
    """The last day a wave of a contract ending on `period_end` may run and release."""
    return period_end + CLOSE_MARGIN


def sample_cap(frame: int) -> int:
    """The largest sample that may be drawn from a frame of `frame` residents."""
    return min(frame, SAMPLE_MOST, max(SAMPLE_FLOOR, math.floor(frame * SAMPLE_SHARE)))
