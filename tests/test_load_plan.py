"""plan_load's truth table: every combination of its inputs, each expected plan written out by hand.

The table is read as "now read with the main query (variant loaded)"; `previous` is how the table was last read
from the source (- never, loaded the same query, fallback the other one).
"""

from __future__ import annotations

import itertools

import pytest

from dwh.pipelines.load_plan import LoadPlan, plan_load

REASONS = {
    "-": None,
    "refresh": "full refresh",
    "interrupted": "an interrupted full reload is finished",
    "variant": "query variant changed (fallback -> loaded)",
}
TABLE = """# incr state previous  unfinished refresh | first delete mark drop reason
0 0 -        0 0 | 0 0 0 0 -
0 0 -        0 1 | 0 1 0 0 refresh
0 0 -        1 0 | 0 1 0 0 interrupted
0 0 -        1 1 | 0 1 0 0 interrupted
0 0 loaded   0 0 | 0 0 0 0 -
0 0 loaded   0 1 | 0 1 0 0 refresh
0 0 loaded   1 0 | 0 1 0 0 interrupted
0 0 loaded   1 1 | 0 1 0 0 interrupted
0 0 fallback 0 0 | 0 0 0 0 -
0 0 fallback 0 1 | 0 1 0 0 refresh
0 0 fallback 1 0 | 0 1 0 0 interrupted
0 0 fallback 1 1 | 0 1 0 0 interrupted
0 1 -        0 0 | 0 0 0 0 -
0 1 -        0 1 | 0 1 0 1 refresh
0 1 -        1 0 | 0 1 0 1 interrupted
0 1 -        1 1 | 0 1 0 1 interrupted
0 1 loaded   0 0 | 0 0 0 0 -
0 1 loaded   0 1 | 0 1 0 1 refresh
0 1 loaded   1 0 | 0 1 0 1 interrupted
0 1 loaded   1 1 | 0 1 0 1 interrupted
0 1 fallback 0 0 | 0 1 0 1 variant
0 1 fallback 0 1 | 0 1 0 1 refresh
0 1 fallback 1 0 | 0 1 0 1 interrupted
0 1 fallback 1 1 | 0 1 0 1 interrupted
1 0 -        0 0 | 1 1 0 0 -
1 0 -        0 1 | 1 1 1 0 refresh
1 0 -        1 0 | 1 1 1 0 interrupted
1 0 -        1 1 | 1 1 1 0 interrupted
1 0 loaded   0 0 | 1 1 0 0 -
1 0 loaded   0 1 | 1 1 1 0 refresh
1 0 loaded   1 0 | 1 1 1 0 interrupted
1 0 loaded   1 1 | 1 1 1 0 interrupted
1 0 fallback 0 0 | 1 1 0 0 -
1 0 fallback 0 1 | 1 1 1 0 refresh
1 0 fallback 1 0 | 1 1 1 0 interrupted
1 0 fallback 1 1 | 1 1 1 0 interrupted
1 1 -        0 0 | 0 0 0 0 -
1 1 -        0 1 | 1 1 1 1 refresh
1 1 -        1 0 | 1 1 1 1 interrupted
1 1 -        1 1 | 1 1 1 1 interrupted
1 1 loaded   0 0 | 0 0 0 0 -
1 1 loaded   0 1 | 1 1 1 1 refresh
1 1 loaded   1 0 | 1 1 1 1 interrupted
1 1 loaded   1 1 | 1 1 1 1 interrupted
1 1 fallback 0 0 | 1 1 1 1 variant
1 1 fallback 0 1 | 1 1 1 1 refresh
1 1 fallback 1 0 | 1 1 1 1 interrupted
1 1 fallback 1 1 | 1 1 1 1 interrupted
"""


def _rows() -> list[tuple[tuple[bool, bool, str | None, bool, bool], LoadPlan]]:
    parsed = []
    for line in TABLE.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        given, expected = line.split("|")
        incremental, state, previous, unfinished, refresh = given.split()
        first, delete, mark, drop, reason = expected.split()
        inputs = (
            incremental == "1",
            state == "1",
            None if previous == "-" else previous,
            unfinished == "1",
            refresh == "1",
        )
        plan = LoadPlan(first == "1", delete == "1", mark == "1", drop == "1", REASONS[reason])
        parsed.append((inputs, plan))
    return parsed


def test_the_table_covers_every_combination_once():
    inputs = [given for given, _ in _rows()]
    every = list(
        itertools.product((False, True), (False, True), (None, "loaded", "fallback"), (False, True), (False, True))
    )
    assert sorted(inputs, key=repr) == sorted(every, key=repr) and len(inputs) == len(every) == 48


@pytest.mark.parametrize(
    ("given", "expected"), _rows(), ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) else ""
)
def test_plan(given, expected):
    incremental, has_state, previous, unfinished, refresh = given
    plan = plan_load(
        incremental=incremental,
        has_state=has_state,
        previous_variant=previous,
        variant="loaded",
        unfinished=unfinished,
        refresh_requested=refresh,
    )
    assert plan == expected


def test_the_plan_never_forgets_a_cursor_without_deleting_and_marking_first():
    """The crash-safety invariants the kill tests rely on, over every combination."""
    for (incremental, has_state, _, _, _), plan in _rows():
        if plan.drop_state:
            assert plan.delete_rows and has_state
            assert plan.mark_full_reload == incremental
        if plan.first_load:
            assert plan.delete_rows and incremental


@pytest.mark.parametrize(("incremental", "has_state"), list(itertools.product((False, True), (False, True))))
def test_a_forced_reload_is_planned_like_a_refresh_and_says_why(incremental, has_state):
    """forced_reason: row versions that cannot be compared (a wrapped or restored source, dwh.sources.changes)."""
    common = dict(incremental=incremental, has_state=has_state, previous_variant="loaded", variant="loaded")
    refresh = plan_load(**common, unfinished=False, refresh_requested=True)
    forced = plan_load(**common, unfinished=False, refresh_requested=False, forced_reason="ids may have wrapped")
    assert forced == LoadPlan(
        refresh.first_load, refresh.delete_rows, refresh.mark_full_reload, refresh.drop_state, "ids may have wrapped"
    )
