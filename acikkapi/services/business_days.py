"""Due dates of routings: units answer within 7 business days (iş günü; directive md. 5(o), 10(b)), in Istanbul.

The rules, in the order they apply:
- A business day is a Monday to Friday that is not a holiday in Turkey's calendar of the `holidays` package:
  its PUBLIC days (the national days and the religious bayrams, Ramazan Bayramı and Kurban Bayramı) and its
  HALF_DAY days, the afternoons off on the arife of each bayram and on 28 Ekim, the eve of Cumhuriyet Bayramı.
  A half day counts as a whole non-working day: an office that closes at 13:00 has not had a day to answer.
  Days off declared by a government decision for a given year (idari izin) are not in the package, so not here.
- Counting starts on the day after the routing's date in Istanbul, whatever the hour and whether that date is
  a business day itself: a routing made on Friday at 16:00, on Saturday, or on a bayram day is first counted
  on the next business day.
- The due date is the 7th business day so counted. The answer is on time until that day ends in Istanbul:
  the routing is overdue from 00:00 of the next calendar day (see `is_overdue`).
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ISTANBUL = ZoneInfo("Europe/Istanbul")
ANSWER_BUSINESS_DAYS = 7
_DAYS_OFF = holidays.Turkey(categories=(holidays.PUBLIC, holidays.HALF_DAY))  # each year filled in when asked


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _DAYS_OFF


def due_date(start: datetime, business_days: int = ANSWER_BUSINESS_DAYS) -> date:
    """The last day to answer a routing made at `start` (timezone-aware)."""
    return _due_after(_istanbul(start).date(), business_days)


@lru_cache(maxsize=64)  # every routing of a day has the same due date
def _due_after(day: date, business_days: int) -> date:
    if business_days < 1:
        raise ValueError("business_days must be at least 1")
    while business_days:
        day += timedelta(days=1)
        if is_business_day(day):
            business_days -= 1
    return day


def due_end(due: date) -> datetime:
    """When a routing due on `due` becomes overdue: the following midnight in Istanbul."""
    return datetime.combine(due + timedelta(days=1), time(), ISTANBUL)


def is_overdue(due: date, now: datetime) -> bool:
    return _istanbul(now).date() > due


def _istanbul(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:  # a naive time would be read in the server's zone
        raise ValueError("a timezone-aware datetime is required")
    return moment.astimezone(ISTANBUL)
