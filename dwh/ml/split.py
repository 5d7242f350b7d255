"""The time split: rows to fit on, semesters to choose the model on, semesters to report, with embargoes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class TimeSplit:
    """Semester bounds (time_idx, inclusive) of the three sets.

    A row t's label is decided at the closing date of t + horizon, before the as-of date of t + horizon + 1.
    So a set may learn from (or choose on) a row only if that row's label was known when the next set's
    first row is predicted: `horizon` semesters separate them (the embargo), and the rows in an embargo are
    in no set (they are history only).
    """

    horizon: int
    fit_last: int
    select_first: int
    select_last: int
    test_first: int
    test_last: int

    def fit_rows(self, frame: pd.DataFrame) -> pd.Series:
        return frame["time_idx"] <= self.fit_last

    def select_rows(self, frame: pd.DataFrame) -> pd.Series:
        return frame["time_idx"].between(self.select_first, self.select_last)

    def test_rows(self, frame: pd.DataFrame) -> pd.Series:
        return frame["time_idx"].between(self.test_first, self.test_last)

    def history(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Every row a model may see while it is fitted and chosen: nothing after the selection semesters."""
        return frame[frame["time_idx"] <= self.select_last]

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def time_split(frame: pd.DataFrame, horizon: int, test_semesters: int = 2, select_semesters: int = 2) -> TimeSplit:
    """Test on the last `test_semesters` labelled semesters, choose on the `select_semesters` before the
    embargo, fit on what was labelled before the selection semesters' own embargo."""
    if test_semesters < 1 or select_semesters < 1:
        raise ValueError("--test-semesters and --select-semesters must be at least 1")
    first, last = int(frame["time_idx"].min()), int(frame["time_idx"].max())
    test_first = last - test_semesters + 1
    select_last = test_first - 1 - horizon
    select_first = select_last - select_semesters + 1
    fit_last = select_first - 1 - horizon
    split = TimeSplit(horizon, fit_last, select_first, select_last, test_first, last)
    if fit_last < first or not split.fit_rows(frame).any() or not split.select_rows(frame).any():
        need = test_semesters + select_semesters + 2 * horizon + 1
        raise ValueError(
            f"not enough labelled history for the time split: semesters {first}..{last} "
            f"({last - first + 1}); fitting, choosing and testing with embargoes of {horizon} need at least {need} "
            f"({test_semesters} to test, {select_semesters} to choose on, 1 to fit); use fewer --test-semesters "
            "or --select-semesters, or more history"
        )
    return split
