"""--dry-run: list what a run would do and EXPLAIN every statement, on the sources and in memory; no writes."""

from __future__ import annotations

import datetime as dt
import logging
import sys

import duckdb

from dwh import duck
from dwh.layers.bronze_schema import bronze_placeholders
from dwh.layers.session import configure_session, prepare_layer
from dwh.layers.sql_files import layer_files
from dwh.ops.selection import Selection
from dwh.settings import APP_DB_KIND, RunSettings, SourceDatabase, scrub_passwords
from dwh.sources import intervenciones
from dwh.sources.changes import VersionRange, uses_versions
from dwh.sources.coerce import TypeMismatch
from dwh.sources.declared import UndeclaredColumn
from dwh.sources.sql_resource import NO_SCOPE, initial_cursor, psycopg_sql, read_as_declared, read_sql, source_engine

log = logging.getLogger("dwh.dry_run")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _explain_bronze(sources: list[SourceDatabase], selection: Selection, start: dt.date, as_of: dt.date) -> int:
    failures = 0
    for source in sources:
        tables = [t for t in selection.bronze if t.kind == source.kind]
        _out(f"source {source.name} ({source.kind}) {source.redacted_url}: {len(tables)} resources")
        if not tables:
            continue
        if source.kind == APP_DB_KIND:
            for table in tables:
                readable, line = intervenciones.dry_run_line(table, source, as_of)
                failures += not readable
                _out(line)
            continue
        try:
            conn = source_engine(source).raw_connection()
        except Exception as exc:  # noqa: BLE001 - any connection error is reported for this source
            failures += 1
            _out(f"  cannot connect: {scrub_passwords(' '.join(str(exc).split()))[:300]}")
            continue
        try:
            for table in tables:
                strategy = (
                    f"incremental on {table.cursor}, look-back {table.lag_days} days"
                    if table.incremental
                    else "snapshot (replaces the source's rows)"
                )
                label = f"  {table.name}__{source.name}: {strategy}"
                paths = [table.sql_path] + ([table.fallback_path] if table.fallback_path else [])
                for path in paths:
                    cursor = conn.cursor()
                    try:
                        cursor.execute(
                            "EXPLAIN " + psycopg_sql(read_sql(path)),
                            {
                                "start_value": initial_cursor(table, start) if table.incremental else None,
                                "as_of": as_of,
                                "cursor_cap": as_of,
                                **NO_SCOPE,
                            },
                        )
                        plan = cursor.fetchone()[0]  # type: ignore[index]  # EXPLAIN returns rows
                        # Every column must also be readable as its declared bronze type, by window and by version.
                        read_as_declared(conn, read_sql(path), table.name)
                        if table.incremental and uses_versions(read_sql(path)):
                            read_as_declared(conn, read_sql(path), table.name, VersionRange(0, 0))
                            label = f"  {table.name}__{source.name}: incremental by row versions"
                        _out(f"{label}; {path.name}: {plan.strip()[:100]}")
                        break
                    except (TypeMismatch, UndeclaredColumn) as exc:
                        # Not a schema variant: the real run fails this source, optional table or not.
                        failures += 1
                        _out(f"{label}; {path.name}: FAILS: {exc}")
                        break
                    except Exception as exc:  # noqa: BLE001 - reported; the next variant may work
                        conn.rollback()
                        if path is paths[-1]:
                            verdict = "skipped (optional)" if table.optional else "FAILS"
                            failures += 0 if table.optional else 1
                            _out(f"{label}; {path.name}: {verdict}: {str(exc).splitlines()[0][:200]}")
        finally:
            conn.close()
    return failures


def _explain_layers(selection: Selection, settings: RunSettings) -> int:
    failures = 0
    con = duck.connect(stage="dry-run")
    configure_session(con, settings.as_of, settings.time_zone, {"hash_salt": "dry-run"})
    for placeholder in bronze_placeholders():
        con.execute(placeholder)
    for layer in ("silver", "gold"):
        shown = {f.name for f in selection.files.get(layer, [])}
        prepare_layer(con, layer, settings.seeds_dir)
        if shown:
            _out(f"{layer}: {len(shown)} SQL files, run in this order in one transaction")
        for sql_file in layer_files(layer):
            statements = duckdb.extract_statements(sql_file.text())
            problem = None
            for number, statement in enumerate(statements, start=1):
                try:
                    # EXPLAIN binds the statement against the tables built so far; running it on empty
                    # inputs then creates what the next statements read
                    con.execute("EXPLAIN " + statement.query)
                    con.execute(statement.query)
                except duckdb.Error as exc:
                    problem = f"statement {number}: {str(exc).splitlines()[0][:300]}"
                    break
            if sql_file.name in shown:
                _out(f"  {sql_file.name} -> {sql_file.target}: {len(statements)} statements, " + (problem or "ok"))
            if problem:
                failures += 1
                if sql_file.name not in shown:
                    _out(f"  {sql_file.name} (needed by the selection): {problem}")
                break
    con.close()
    return failures


def dry_run(sources: list[SourceDatabase], selection: Selection, settings: RunSettings) -> int:
    """Print the plan of a run; exit status 1 when any statement would fail."""
    as_of, start = settings.as_of, settings.incremental_start
    _out(f"dry run as of {as_of}: layers {', '.join(selection.layers) or 'none'}; nothing is written")
    failures = 0
    if "bronze" in selection.layers:
        failures += _explain_bronze(sources, selection, start, as_of)
    if {"silver", "gold"} & set(selection.layers):
        failures += _explain_layers(selection, settings)
    if failures:
        log.error("dry run: %d problem(s) found (see above)", failures)
        return 1
    return 0
