"""The bronze reload decision for one table of one source, as a pure function of what is known before reading it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadPlan:
    """What to do before reading the table.

    reason: why its rows and state are replaced by a full read (None: a normal load); mark_full_reload:
    record that a full reload is under way (before deleting anything, so a crash finishes it);
    drop_state: forget its incremental cursor; delete_rows: delete the source's rows first;
    first_load: read the whole history (append) instead of from the cursor.
    """

    first_load: bool
    delete_rows: bool
    mark_full_reload: bool = False
    drop_state: bool = False
    reason: str | None = None


def plan_load(
    *,
    incremental: bool,
    has_state: bool,
    previous_variant: str | None,
    variant: str,
    unfinished: bool,
    refresh_requested: bool,
    forced_reason: str | None = None,
) -> LoadPlan:
    """Decide how to load a table from a source.

    incremental: the table is read from a cursor; has_state: dlt holds that cursor; previous_variant /
    variant: the query (loaded or fallback) it was last read with and is read with now; unfinished: a
    full reload was started and never finished; refresh_requested: --full-refresh names it; forced_reason:
    why the table must be reloaded in full although nothing above asks for it (its row versions cannot be
    compared: see dwh.sources.changes).
    Rows read through another query variant (the fallback view) are reloaded in full.
    """
    refreshing = refresh_requested or unfinished or forced_reason is not None
    variant_changed = has_state and previous_variant is not None and previous_variant != variant
    first = incremental and (refreshing or not has_state or variant_changed)
    if not (refreshing or variant_changed):
        return LoadPlan(first_load=first, delete_rows=first)
    if unfinished:
        reason = "an interrupted full reload is finished"
    elif refresh_requested:
        reason = "full refresh"
    elif forced_reason is not None:
        reason = forced_reason
    else:
        reason = f"query variant changed ({previous_variant} -> {variant})"
    return LoadPlan(
        first_load=first, delete_rows=True, mark_full_reload=incremental, drop_state=has_state, reason=reason
    )
