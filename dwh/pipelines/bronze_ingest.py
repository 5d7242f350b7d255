"""Bronze: load every configured Guaraní and Moodle source into schema `bronze` of the warehouse with dlt."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dlt
from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.pipeline.helpers import pipeline_drop

from dwh.duck import out_of_memory, out_of_memory_message
from dwh.pipelines import bronze_settings, bronze_warehouse, reconcile
from dwh.pipelines.load_plan import plan_load
from dwh.pipelines.reconcile import Reconciled
from dwh.settings import (
    APP_DB_KIND,
    RunSettings,
    SourceDatabase,
    dlt_state_dir,
    scrub_passwords,
)
from dwh.sources import intervenciones
from dwh.sources.catalog import BronzeTable
from dwh.sources.changes import STATE_KEY as CHANGES_KEY
from dwh.sources.changes import (
    ChangesUnavailable,
    SourceSnapshot,
    VersionPlan,
    VersionRange,
    plan_versions,
    read_snapshot,
    uses_versions,
)
from dwh.sources.coerce import TypeMismatch
from dwh.sources.declared import UndeclaredColumn
from dwh.sources.pg_copy import ColumnSpec
from dwh.sources.sql_resource import (
    SchemaVariant,
    VersionRead,
    describe,
    read_scope,
    read_sql,
    source_engine,
    table_resource,
)

log = logging.getLogger("dwh.bronze")
PIPELINE_NAME = "dwh_bronze"
DATASET = bronze_warehouse.DATASET


@dataclass
class TableOutcome:
    source: str
    table: str
    status: str  # loaded | fallback | skipped | failed
    rows: int = 0
    message: str = ""


@dataclass(frozen=True)
class TableRead:
    """How an incremental table is read tonight: what a reconciliation needs to read its keys again."""

    table: BronzeTable
    sql: str
    columns: list[ColumnSpec]
    first_load: bool
    full_read_seconds: float | None


@dataclass
class BronzeReport:
    run_id: str
    outcomes: list[TableOutcome] = field(default_factory=list)
    reconciled: list[Reconciled] = field(default_factory=list)
    failed_sources: dict[str, str] = field(default_factory=dict)
    source_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed_sources


def make_pipeline(warehouse: Path) -> dlt.Pipeline:
    """The dlt pipeline; its working state lives beside the warehouse file, never in a home directory."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(dlt_state_dir(warehouse)),
        destination=dlt.destinations.duckdb(credentials=str(warehouse)),
        dataset_name=DATASET,
    )


def _resource_state(pipeline: dlt.Pipeline, resource_name: str) -> dict:
    """The committed state dlt keeps for one resource (empty when it has none)."""
    for section in pipeline.state.get("sources", {}).values():
        state = section.get("resources", {}).get(resource_name)
        if state:
            return dict(state)
    return {}


def _source_snapshot(engine, source: SourceDatabase, tables: list[BronzeTable]) -> SourceSnapshot | None:
    """The source's transaction snapshot, taken before any of its tables is read; None: read by windows."""
    if not any(t.incremental for t in tables):
        return None
    conn = engine.raw_connection()
    try:
        return read_snapshot(conn)
    except ChangesUnavailable as exc:
        log.warning(
            "source %s gives no transaction snapshot (%s): its incremental tables are read by look-back windows, "
            "which miss changes older than the window",
            source.name,
            exc,
        )
        return None
    finally:
        conn.close()


def _probe(
    engine, source: SourceDatabase, table: BronzeTable, sql: str, snapshot: SourceSnapshot | None
) -> tuple[list[ColumnSpec], bool]:
    """The query's columns as declared (one LIMIT 0 run), and whether it is read by row versions tonight.

    Where versions apply, the query is probed as a read by versions; if that fails as a schema variant (a table
    it names is a view in this deployment), it is probed and read by window instead."""
    if not (table.by_versions and snapshot is not None and uses_versions(sql)):
        return describe(engine, sql, table.name), False
    try:
        return describe(engine, sql, table.name, VersionRange(0, 0)), True
    except SchemaVariant as exc:
        columns = describe(engine, sql, table.name)  # a variant here too: the caller's fallback handles it
        log.warning("%s.%s: cannot read row versions (%s): read by look-back window", source.name, table.name, exc)
        return columns, False


def _resources_for(
    pipeline: dlt.Pipeline,
    settings: RunSettings,
    source: SourceDatabase,
    tables: list[BronzeTable],
    report: BronzeReport,
    refresh: frozenset[str] = frozenset(),
    reads: list[TableRead] | None = None,
) -> list:
    """Build the source's resources; a missing optional table or view is a schema variant, not a failure.

    Appends to `reads` how each incremental table is read."""
    warehouse, start, as_of = settings.warehouse, settings.incremental_start, settings.as_of
    if source.kind == APP_DB_KIND:
        return _app_db_resources(warehouse, source, tables, as_of, report)
    engine = source_engine(source)
    known = bronze_warehouse.read_source_state(warehouse, source.name)  # one read-only connection per source
    snapshot = _source_snapshot(engine, source, tables)
    resources = []
    for table in tables:
        paths = [table.sql_path] + ([table.fallback_path] if table.fallback_path else [])
        for attempt, path in enumerate(paths):
            sql = read_sql(path)
            try:
                columns, by_versions = _probe(engine, source, table, sql, snapshot)
            except (TypeMismatch, UndeclaredColumn) as exc:
                raise RuntimeError(f"source {source.name}, {exc}") from exc
            except SchemaVariant as variant:
                if attempt + 1 < len(paths):
                    log.warning("%s.%s: %s; using %s", source.name, table.name, variant, paths[attempt + 1].name)
                    continue
                if not table.optional:
                    raise RuntimeError(f"source {source.name}, table {table.name}: {variant}") from variant
                log.warning("%s.%s skipped (schema variant): %s", source.name, table.name, variant)
                report.outcomes.append(TableOutcome(source.name, table.name, "skipped", 0, str(variant)))
                break
            resource_name = f"{table.name}__{source.name}"
            variant = "fallback" if attempt else "loaded"
            state = _resource_state(pipeline, resource_name)
            recorded = state.get(CHANGES_KEY) or {}  # what the last load read by versions recorded
            by_version: VersionRead | None = None
            version_plan = VersionPlan(None)
            if by_versions:
                version_plan = plan_versions(recorded.get("xid"), snapshot)
                has_state = bool(recorded)
            else:
                if table.incremental and snapshot is not None:
                    log.info("%s.%s (%s): read by look-back window", source.name, table.name, path.name)
                has_state = bool(state.get("incremental"))
            plan = plan_load(
                incremental=table.incremental or by_versions,
                has_state=has_state,
                previous_variant=known.previous_variants.get(table.name),
                variant=variant,
                unfinished=table.name in known.pending_reloads,
                refresh_requested=table.name in refresh,
                forced_reason=version_plan.reload_reason,
            )
            if by_versions and snapshot is not None:
                versions = None if plan.first_load else version_plan.versions
                scope = read_scope(engine, table, versions) if versions is not None else None
                if table.scope and scope:
                    # before the load: a run that dies after this reads the same groups again (same snapshot)
                    bronze_warehouse.delete_scope(warehouse, table.name, source.name, table.scope, scope)
                by_version = VersionRead(
                    snapshot,
                    versions,
                    dt.date.fromisoformat(recorded["as_of"]) if recorded.get("as_of") else None,
                    recorded.get("full_read_seconds"),
                    scope,
                )
            if plan.reason:
                log.warning("%s.%s: %s: rows and state replaced by a full read", source.name, table.name, plan.reason)
            # in this order: a run killed between two steps is finished by the next one (see mark_full_reload)
            if plan.mark_full_reload:
                bronze_warehouse.mark_full_reload(warehouse, source.name, table.name)
            if plan.drop_state:
                pipeline_drop(pipeline, resources=[resource_name], state_only=True)()
            if plan.delete_rows:
                bronze_warehouse.delete_source_rows(warehouse, table.name, source.name)
            resources.append(
                table_resource(
                    table,
                    sql,
                    columns,
                    engine,
                    source.name,
                    start=start,
                    as_of=as_of,
                    lag_days=bronze_settings.lag_days(table, settings),
                    first_load=plan.first_load,
                    by_version=by_version,
                )
            )
            if (table.incremental or by_versions) and reads is not None:
                reads.append(TableRead(table, sql, columns, plan.first_load, recorded.get("full_read_seconds")))
            report.outcomes.append(TableOutcome(source.name, table.name, variant, 0, path.name if attempt else ""))
            break
    return resources


def _app_db_resources(
    warehouse: Path, source: SourceDatabase, tables: list[BronzeTable], as_of: dt.date, report: BronzeReport
) -> list:
    """The application database's tables: read in full now (they are small), each replacing the source's rows."""
    resources = []
    for table in tables:
        data = intervenciones.read_table(table, source, as_of)
        if not data.num_rows:
            # dlt's merge deletes only the partitions its rows name: an empty read replaces nothing by itself.
            bronze_warehouse.delete_source_rows(warehouse, table.name, source.name)
        resources.append(intervenciones.intervenciones_resource(table, data, source.name))
        report.outcomes.append(TableOutcome(source.name, table.name, "loaded"))
    return resources


def _abort_pending(pipeline: dlt.Pipeline) -> None:
    """Abort what an interrupted run left pending: its local state goes back, this run reads it again.

    Loading it instead could apply a half-loaded package twice (a job whose rows were committed but not
    marked done runs again), duplicating an appended first load. Re-reading is exact: every bronze write
    replaces rows by key or by source, and a load's state only counts once the load completed.
    """
    # Not `pipeline.has_pending_data`: it ignores a package already flagged for abort, which is what a
    # run killed during this very abort leaves. dlt's next load() would finish that abort first and
    # then delete the package being loaded with it and rewind the state: the first source would be
    # logged as loaded without a single row written. So any package left behind is aborted here.
    if not (pipeline.list_extracted_load_packages() or pipeline.list_normalized_load_packages()):
        return
    log.warning("an interrupted run left load packages pending: aborting them; their rows are read again")
    pipeline.abort_packages()


def _drop_uncommitted_state(pipeline: dlt.Pipeline) -> None:
    """Never keep a local state (incremental cursors) ahead of what the warehouse committed.

    dlt advances the local state at extract and rewinds it when a package is aborted, in a step after
    the package is already archived as aborted. A run killed between the two (during the abort of an
    earlier interrupted package, or of a failed one) leaves no package pending and cursors for rows
    that were never loaded: later runs would read only from those cursors and the rows would be lost
    for good. The warehouse keeps the state of every completed load, so a local state with a higher
    version is dropped, and sync_destination() (called before each source) restores the committed one.
    """
    if not pipeline.state.get("sources"):
        return  # no cursors at all: nothing can be ahead
    local = pipeline.state["_state_version"]
    try:
        with pipeline.destination_client() as client:
            stored = client.get_stored_state(pipeline.pipeline_name)
    except DestinationUndefinedEntity:  # no bronze dataset or no state table yet
        stored = None
    except Exception as exc:  # noqa: BLE001 - the sources' own sync and load will report what is wrong
        log.warning("could not read the state the warehouse committed (%s); local dlt state kept", exc)
        return
    committed = stored.version if stored else 0
    if local <= committed:
        return
    log.warning(
        "dlt's local state (version %d) is ahead of the state the warehouse committed (version %s): an "
        "interrupted run did not finish rewinding it; it is dropped and the committed state restored",
        local,
        committed or "none",
    )
    pipeline.drop()


def _extract_normalize_load(pipeline: dlt.Pipeline, source: str, resources: list) -> dict[str, int]:
    """dlt's three steps, one log line each; returns rows per table."""
    t0 = time.perf_counter()
    log.info("source %s: extracting %d resources", source, len(resources))
    pipeline.extract(resources)
    t1 = time.perf_counter()
    pipeline.normalize()
    counts = dict(pipeline.last_trace.last_normalize_info.row_counts)
    rows = sum(v for k, v in counts.items() if not k.startswith("_dlt"))
    t2 = time.perf_counter()
    log.info(
        "source %s: extracted and normalized %s rows in %.1fs + %.1fs; loading", source, f"{rows:,}", t1 - t0, t2 - t1
    )
    pipeline.load()
    log.info("source %s: loaded in %.1fs", source, time.perf_counter() - t2)
    return counts


def run_bronze(
    sources: list[SourceDatabase],
    tables: list[BronzeTable],
    settings: RunSettings,
    refresh: frozenset[str] = frozenset(),
) -> BronzeReport:
    """Load each source in its own dlt run, so one failing source neither blocks nor advances the others.

    `as_of` (DWH_AS_OF) caps every cursor: nothing dated after that day is read. `refresh` names tables
    to reload from scratch for these sources (rows and state replaced).
    """
    warehouse = settings.warehouse
    report = BronzeReport(run_id=uuid.uuid4().hex[:12])
    started = dt.datetime.now(dt.timezone.utc)
    pipeline = make_pipeline(warehouse)
    _abort_pending(pipeline)
    _drop_uncommitted_state(pipeline)
    for source in sources:
        source_tables = [t for t in tables if t.kind == source.kind]
        if not source_tables:
            continue
        t0 = time.perf_counter()
        first_outcome = len(report.outcomes)
        try:
            pipeline.sync_destination()
            reads: list[TableRead] = []
            resources = _resources_for(pipeline, settings, source, source_tables, report, refresh, reads)
            counts = {}
            if resources:
                counts = _extract_normalize_load(pipeline, source.name, resources)
            bronze_warehouse.clear_full_reloads(warehouse, source.name)
            report.reconciled.extend(_reconcile(settings, source, reads, report.run_id))
        except Exception as exc:  # noqa: BLE001 - reported per source; the other sources go on
            message = scrub_passwords(_root_cause(exc))
            if (detail := out_of_memory(exc)) is not None:
                message = f"{out_of_memory_message('bronze', settings.memory_limit, detail)}; {message}"
            try:
                # not has_pending_data: it misses a package already flagged for abort (see _abort_pending)
                if pipeline.list_extracted_load_packages() or pipeline.list_normalized_load_packages():
                    # Abort the source's unloaded package: its local state rolls back, and the next
                    # source's run does not retry (and fail on) this package first.
                    pipeline.abort_packages()
            except Exception as abort_exc:  # noqa: BLE001 - e.g. a full disk; the next run aborts it
                log.error(
                    "source %s: its load package could not be aborted now: %s",
                    source.name,
                    scrub_passwords(str(abort_exc)),
                )
            report.failed_sources[source.name] = message
            report.source_seconds[source.name] = time.perf_counter() - t0
            for outcome in report.outcomes[first_outcome:]:
                outcome.status, outcome.message = "failed", message
            log.error("source %s failed, its state was not advanced: %s", source.name, message)
            continue
        for outcome in report.outcomes[first_outcome:]:
            outcome.rows = int(counts.get(outcome.table, 0))
        loaded = sum(o.rows for o in report.outcomes[first_outcome:])
        report.source_seconds[source.name] = time.perf_counter() - t0
        log.info(
            "source %s: %s rows in %d tables in %.1fs",
            source.name,
            f"{loaded:,}",
            len(report.outcomes) - first_outcome,
            time.perf_counter() - t0,
        )
    app_tables = [t.name for t in tables if t.kind == APP_DB_KIND]
    if app_tables and not any(s.kind == APP_DB_KIND for s in sources):
        # No source reads the application database: its tables exist, empty, so silver and gold do not change
        # shape with the configuration.
        bronze_warehouse.create_declared(warehouse, app_tables)
    bronze_warehouse.record_outcomes(
        warehouse, report.run_id, started, [(o.source, o.table, o.status, o.rows, o.message) for o in report.outcomes]
    )
    return report


def _reconcile(settings: RunSettings, source: SourceDatabase, reads: list[TableRead], run_id: str) -> list[Reconciled]:
    """Delete the rows the source deleted, in each incremental table that is due (dwh.pipelines.reconcile).

    A table loaded in full tonight is exact already. The cost of a full read is the one recorded by the
    table's first load (its state)."""
    last = reconcile.last_reconciliations(settings.warehouse, source.name)
    now = dt.datetime.now(dt.timezone.utc)
    done = []
    engine = source_engine(source)
    for read in reads:
        if read.first_load:
            continue
        full_seconds = read.full_read_seconds
        due, why = reconcile.is_due(settings.reconcile, last.get(read.table.name), full_seconds, now)
        if not due:
            log.info("%s.%s: reconciliation not due (%s)", source.name, read.table.name, why)
            continue
        done.append(
            reconcile.reconcile_table(
                settings.warehouse,
                engine,
                source.name,
                read.table,
                read.sql,
                read.columns,
                start=settings.incremental_start,
                as_of=settings.as_of,
                run_id=run_id,
                full_read_seconds=full_seconds,
            )
        )
    return done


def _root_cause(exc: BaseException) -> str:
    """The innermost error's message, first lines only: dlt wraps the real cause several times."""
    seen = exc
    while seen.__cause__ is not None or getattr(seen, "__context__", None) is not None:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    text = f"{type(seen).__name__}: {seen}"
    outer = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if seen is not exc and len(outer) < 300:
        text = f"{outer} <- {text}"
    return " ".join(text.split())[:1000]


def main(argv: list[str] | None = None) -> int:
    """An alias of `python -m dwh.main --layer bronze` without publishing."""
    from dwh.main import layer_alias

    return layer_alias("bronze_ingest", "bronze", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
