"""Calendar months, counted as one number (year × 12 + month − 1), so months add, subtract
and order as integers; every measure by month and the scenario's year use these. And days
added to a date by the database, for windows a measure checks in SQL."""
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def sql_month_index(day_column):
    """month_index of a date column, computed by the database."""
    return sa.extract("year", day_column) * 12 + sa.extract("month", day_column) - 1


class days_after(FunctionElement):
    """`days_after(day_column, n)`: the date n days after, computed by the database (n a
    whole number the code fixes, written into the statement)."""
    type = sa.Date()
    inherit_cache = True
    name = "days_after"

    def __init__(self, day_column, days: int):
        super().__init__(day_column, sa.literal_column(str(int(days))))


@compiles(days_after)
def _date_plus_integer(element, compiler, **kw):  # PostgreSQL: date + integer is a date
    day, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"({day} + {days})"


@compiles(days_after, "sqlite")
def _sqlite_date_modifier(element, compiler, **kw):  # SQLite keeps dates as ISO text
    day, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({day}, '+{days} days')"


def first_of(index: int) -> date:
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def label(index: int) -> str:
    """`2026-03`."""
    year, month = divmod(index, 12)
    return f"{year}-{month + 1:02d}"


def months_back(day: date, months: int) -> date:
    """The same day `months` earlier (from the 28th on, the 28th: every month has one)."""
    back = first_of(month_index(day) - months)
    return back.replace(day=min(day.day, 28))


def calendar_months(start: date, end: date) -> list[tuple[date, date]]:
    """The range cut into calendar months, the first and last clipped to it."""
    parts = []
    while start <= end:
        following = first_of(month_index(start) + 1)
        parts.append((start, min(end, following - timedelta(days=1))))
        start = following
    return parts
