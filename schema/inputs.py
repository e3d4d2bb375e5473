"""Parsing and validating client-supplied values shared by several domains."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from villagegraph.errors import BadUserInput
from villagegraph.tenants.hierarchy import is_division_code

# Periods (months, due dates, disclosure deadlines) are reckoned in China Standard Time.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# JSON may carry unpaired surrogates (\ud800); they are not text and cannot be stored.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def division_code(value: str, argument: str = "unit") -> int:
    if not isinstance(value, str) or not is_division_code(value.strip()):
        raise BadUserInput(
            f"`{argument}` must be a 12-digit division code such as 330302006001.",
            argument=argument,
        )
    return int(value.strip())


def record_id(value: str, argument: str = "id") -> int:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 18:
        raise BadUserInput(f"`{argument}` is not a valid id.", argument=argument)
    return int(value)


def text(value: str, argument: str, *, max_length: int, required: bool = True) -> str:
    """Trimmed text without control characters, within its length limit."""
    cleaned = value.strip()
    if _CONTROL.search(cleaned):
        raise BadUserInput(f"`{argument}` contains control characters.", argument=argument)
    if _SURROGATE.search(cleaned):
        raise BadUserInput(f"`{argument}` is not valid Unicode text.", argument=argument)
    if required and not cleaned:
        raise BadUserInput(f"`{argument}` must not be empty.", argument=argument)
    if len(cleaned) > max_length:
        raise BadUserInput(
            f"`{argument}` is longer than {max_length} characters.", argument=argument
        )
    return cleaned


def tag_list(values: list[str] | None, argument: str = "targetTags") -> list[str]:
    tags = sorted({text(v, argument, max_length=20) for v in values or []})
    if len(tags) > 20:
        raise BadUserInput(f"`{argument}` may hold at most 20 tags.", argument=argument)
    return tags


def period_bound(value: str | None, argument: str, *, end: bool) -> datetime | None:
    """'YYYY-MM' or 'YYYY-MM-DD' as the first (or, for `to`, the last) instant it covers."""
    if value is None:
        return None
    match = _PERIOD.match(value.strip())
    try:
        if not match:
            raise ValueError(value)
        year, month = int(match[1]), int(match[2])
        if match[3]:
            day = date(year, month, int(match[3]))
        else:
            day = date(year, month, calendar.monthrange(year, month)[1] if end else 1)
    except ValueError as error:
        raise BadUserInput(
            f"`{argument}` must be a month 'YYYY-MM' or a date 'YYYY-MM-DD'.", argument=argument
        ) from error
    return datetime.combine(day, time.max if end else time.min, tzinfo=LOCAL_TIME)


_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def past_month(value: str, argument: str = "period") -> str:
    """A month 'YYYY-MM' that has begun (Asia/Shanghai): nothing is booked or disclosed
    for a month ahead."""
    month = value.strip()
    if not _MONTH.match(month):
        raise BadUserInput(f"`{argument}` must be a month 'YYYY-MM'.", argument=argument)
    if month > datetime.now(LOCAL_TIME).strftime("%Y-%m"):
        raise BadUserInput(
            f"`{argument}` {month} has not begun; book or disclose a past or current month.",
            argument=argument,
        )
    return month
