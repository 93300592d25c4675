"""Trading time: how far apart two moments are in the time a market is open for business.

A Friday purchase before news on Tuesday is 92 calendar hours but 44 trading hours: the
weekend, when nobody can trade, must not make a trade look less well timed, nor make a
lookback of ten days cover only six sessions. Equities trade on business days
(Monday–Friday, by UTC date; exchange holidays are not modelled); an instrument that
trades every day (crypto, some FX) counts every day. Which one an instrument is, its own
bars tell: bars on Saturdays and on Sundays mean it trades every day (a Monday session
in Sydney or Tokyo opens on a Sunday, UTC, so one weekend day is not enough).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

DAY = timedelta(days=1)


@dataclass(frozen=True)
class TradingCalendar:
    every_day: bool = False  # a 24/7 instrument: weekends count like any other day

    @classmethod
    def from_bars(cls, timestamps: Iterable[datetime]) -> TradingCalendar:
        """Every-day when bars fall on Saturdays and on Sundays (UTC), else business days.
        Both, because a Monday session in Sydney or Tokyo opens on Sunday, UTC."""
        days = set(pd.DatetimeIndex(list(timestamps)).day_of_week)
        return cls(every_day={5, 6} <= days)

    @property
    def name(self) -> str:
        return "every day (24/7)" if self.every_day else "business days"

    def is_trading_day(self, day: date) -> bool:
        return self.every_day or day.weekday() < 5

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Hours from `start` to `end`, leaving out the days the market is shut."""
        if end <= start:
            return -self.hours_between(end, start) if end < start else 0.0
        elapsed = end - start
        if not self.every_day:
            day = start.date()
            while day <= end.date():
                if not self.is_trading_day(day):
                    day_start = datetime.combine(day, datetime.min.time(), tzinfo=start.tzinfo)
                    overlap = min(end, day_start + DAY) - max(start, day_start)
                    elapsed -= max(overlap, timedelta(0))
                day += DAY
        return elapsed.total_seconds() / 3600

    def days_before(self, at: datetime, days: int) -> datetime:
        """The moment `days` trading days before `at` (weekends stepped over)."""
        if self.every_day:
            return at - days * DAY
        when, counted = at, 0
        while counted < days:
            when -= DAY
            if self.is_trading_day(when.date()):
                counted += 1
        return when

    def days(self, first: date, last: date) -> pd.DatetimeIndex:
        """The trading days from `first` to `last`, both included."""
        if self.every_day:
            return pd.date_range(first, last, freq="D")
        return pd.bdate_range(first, last)
