"""A routing is due 7 business days after it is made, in Istanbul: weekends, public holidays, both bayrams and
their half-day eves do not count."""

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acikkapi.services.business_days import ISTANBUL, due_date, due_end, is_business_day, is_overdue

UTC = timezone.utc


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ISTANBUL)


class TestDueDate:
    def test_a_weekend_does_not_count(self):
        # Friday → Mon 12 … Fri 16, Mon 19, Tue 20
        assert due_date(at("2026-01-09")) == date(2026, 1, 20)

    def test_ramazan_bayrami_2026_and_its_eve_do_not_count(self):
        # Tue 17, Wed 18; Thu 19 (arife, half day) to Sun 22 off; Mon 23 … Fri 27
        assert due_date(at("2026-03-16")) == date(2026, 3, 27)

    def test_kurban_bayrami_2026_and_its_eve_do_not_count(self):
        # Mon 25; Tue 26 (arife, half day) to Sat 30 off; Mon 1 June … Mon 8 June
        assert due_date(at("2026-05-22")) == date(2026, 6, 8)

    def test_19_may_and_kurban_bayrami_together(self):
        # Tue 19 May off; Wed 20, Thu 21, Fri 22, Mon 25; 26-30 off; Mon 1, Tue 2, Wed 3 June
        assert due_date(at("2026-05-18")) == date(2026, 6, 3)

    def test_new_year_2027_does_not_count(self):
        # Fri 25, Mon 28 … Thu 31; Fri 1 January off; Mon 4, Tue 5
        assert due_date(at("2026-12-24")) == date(2027, 1, 5)

    def test_the_eve_of_cumhuriyet_bayrami_counts_as_a_day_off_like_the_bayram_eves(self):
        # Tue 27; Wed 28 (from 13:00) and Thu 29 off; Fri 30, Mon 2 … Fri 6 November
        assert due_date(at("2026-10-26")) == date(2026, 11, 6)

    @pytest.mark.parametrize("start", [at("2026-05-01"), at("2026-05-02"), at("2026-05-03", "23:59")])
    def test_a_routing_on_a_holiday_or_a_weekend_counts_from_the_next_business_day(self, start):
        # 1 May (Emek ve Dayanışma Günü, a Friday), the weekend after it → Mon 4 … Fri 8, Mon 11, Tue 12
        assert due_date(start) == date(2026, 5, 12)

    def test_a_routing_on_the_first_day_of_a_bayram(self):
        assert due_date(at("2026-03-20")) == date(2026, 3, 31)  # Mon 23 … Fri 27, Mon 30, Tue 31

    def test_the_date_in_istanbul_counts_not_the_date_in_utc(self):
        thursday_night_utc = datetime(2026, 1, 8, 21, 30, tzinfo=UTC)  # Friday 00:30 in Istanbul
        assert due_date(thursday_night_utc) == due_date(at("2026-01-09")) == date(2026, 1, 20)
        assert due_date(datetime(2026, 1, 8, 20, 59, tzinfo=UTC)) == date(2026, 1, 19)

    def test_another_number_of_business_days(self):
        assert due_date(at("2026-03-18"), business_days=1) == date(2026, 3, 23)

    def test_a_naive_time_or_no_days_is_a_programming_error(self):
        with pytest.raises(ValueError):
            due_date(datetime(2026, 1, 9, 10, 0))
        with pytest.raises(ValueError):
            due_date(at("2026-01-09"), business_days=0)


class TestOverdue:
    def test_on_time_until_the_due_day_ends_in_istanbul(self):
        due = date(2026, 1, 20)
        assert not is_overdue(due, at("2026-01-20", "23:59:59.999999"))
        assert is_overdue(due, at("2026-01-21", "00:00"))
        assert not is_overdue(due, datetime(2026, 1, 20, 20, 59, 59, tzinfo=UTC))
        assert is_overdue(due, datetime(2026, 1, 20, 21, 0, tzinfo=UTC))
        assert due_end(due) == datetime(2026, 1, 20, 21, 0, tzinfo=UTC)

    def test_a_naive_now_is_a_programming_error(self):
        with pytest.raises(ValueError):
            is_overdue(date(2026, 1, 20), datetime(2026, 1, 21))


# Any moment from 2020 to 2035, in any fixed offset: the rules must hold whatever the calendar brings.
MOMENTS = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=UTC).astimezone(timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.integers(-12 * 60, 14 * 60))
DAYS = st.integers(1, 30)
RULES = settings(derandomize=True, database=None)  # repeatable, and nothing written beside the tests


class TestRules:
    @RULES
    @given(start=MOMENTS, days=DAYS)
    def test_the_due_date_is_the_nth_business_day_after_the_routing_day(self, start, days):
        routed = start.astimezone(ISTANBUL).date()
        due = due_date(start, days)

        assert due > routed and is_business_day(due)
        between = [routed + timedelta(days=n) for n in range(1, (due - routed).days)]
        assert sum(map(is_business_day, between)) == days - 1

    @RULES
    @given(start=MOMENTS, days=DAYS)
    def test_never_more_than_two_weeks_of_days_off_in_a_row(self, start, days):
        # the longest real break is a bayram joined to a weekend (about 9 days); 14 leaves room for any year
        assert (due_date(start, days) - start.astimezone(ISTANBUL).date()).days <= days * 7 // 5 + 14

    @RULES
    @given(start=MOMENTS, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)), days=DAYS)
    def test_a_later_routing_is_never_due_earlier(self, start, later, days):
        assert due_date(start + later, days) >= due_date(start, days)

    @RULES
    @given(start=MOMENTS, days=DAYS)
    def test_the_hour_and_the_zone_of_the_routing_do_not_matter_only_its_date_in_istanbul(self, start, days):
        local = start.astimezone(ISTANBUL)
        same_day = [local.replace(hour=0, minute=0, second=0, microsecond=0), local.replace(hour=23, minute=59)]
        assert {due_date(moment, days) for moment in [start, start.astimezone(UTC), *same_day]} == {
            due_date(start, days)}

    @RULES
    @given(start=MOMENTS)
    def test_overdue_exactly_from_the_end_of_the_due_day(self, start):
        due = due_date(start)
        end = due_end(due)

        assert not is_overdue(due, start) and not is_overdue(due, end - timedelta(microseconds=1))
        assert is_overdue(due, end) and is_overdue(due, end + timedelta(days=400))

    def test_the_calendar_knows_the_religious_holidays_and_their_eves(self):
        # Ramazan Bayramı 2027: arife Mon 8 March, bayram Tue 9 to Thu 11
        assert [is_business_day(date(2027, 3, day)) for day in range(5, 13)] == [
            True, False, False, False, False, False, False, True]  # Fri 5 … Fri 12 (6-7 the weekend)
