"""Extraction through CSV COPY (dwh.sources.pg_copy) against the ADBC driver (dwh.sources.pg_adbc), same queries.

For every bronze table and source of the config, the query bronze runs on a first load (main file, else its
fallback; :start_value = the table's first cursor value, :as_of = DWH_AS_OF or today), with the declared
coercions, is read to the end by each reader and the batches are dropped. Each reader runs in a child
process of its own, so its peak RSS is its own; with --repeat the order of the two alternates.

    python -m dwh.bench.extract_drivers --config CONFIG [--repeat N] [--tables t1,t2] [--json FILE]
    python -m dwh.bench.extract_drivers --config CONFIG --check t1,t2   # same rows, values and types

Nothing is written to a warehouse. --check loads both readers' batches into a scratch in-memory DuckDB
database and compares them with EXCEPT ALL both ways.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from dwh.logs import setup_logging
from dwh.pipelines import bronze_settings
from dwh.settings import SourceDatabase, as_of_date, load_config
from dwh.sources import pg_adbc, pg_copy
from dwh.sources.catalog import BronzeTable
from dwh.sources.pg_copy import ColumnSpec, arrow_schema, copy_query
from dwh.sources.sql_resource import (
    NO_SCOPE,
    SchemaVariant,
    initial_cursor,
    psycopg_sql,
    read_as_declared,
    read_sql,
    session_options,
    source_engine,
)

log = logging.getLogger("dwh.bench.extract_drivers")
DRIVERS = ("csv", "adbc")
ATTEMPTS = 3


@dataclass(frozen=True)
class Job:
    """One (table, source) read: the same bound query rendered for each reader."""

    table: str
    source: SourceDatabase
    schema: pa.Schema
    csv_sql: str  # COPY ... TO STDOUT WITH (FORMAT csv)
    typed_sql: str  # SELECT with typed columns, for ADBC


def jobs_for(sources: list[SourceDatabase], tables: list[BronzeTable], start: dt.date, as_of: dt.date) -> list[Job]:
    """The (table, source) reads of a first full load, as bronze builds them (see sql_resource.table_resource)."""
    jobs = []
    for source in sources:
        conn = source_engine(source).raw_connection()
        try:
            for table in (t for t in tables if t.kind == source.kind):
                paths = [table.sql_path] + ([table.fallback_path] if table.fallback_path else [])
                for path in paths:
                    sql = read_sql(path)
                    try:
                        columns = read_as_declared(conn, sql, table.name)
                    except SchemaVariant as exc:
                        conn.rollback()
                        log.warning("%s.%s (%s): %s", source.name, table.name, path.name, exc)
                        continue
                    specs = [ColumnSpec("source_db", pa.string(), "q.source_db"), *columns]
                    inner = f"SELECT %(source_db)s::text AS source_db, src.* FROM ({psycopg_sql(sql)}) AS src"
                    start_value = initial_cursor(table, start) if table.incremental else None
                    params = {
                        "source_db": source.name,
                        "start_value": start_value,
                        "as_of": as_of,
                        "cursor_cap": as_of,
                        **NO_SCOPE,
                    }
                    cursor = conn.cursor()
                    csv_sql = cursor.mogrify(copy_query(inner, specs), params).decode()
                    typed_sql = cursor.mogrify(pg_adbc.typed_query(inner, specs), params).decode()
                    conn.rollback()
                    jobs.append(Job(table.name, source, arrow_schema(specs), csv_sql, typed_sql))
                    break
        finally:
            conn.close()
    return jobs


def read_csv(job: Job) -> Iterator[pa.RecordBatch]:
    conn = source_engine(job.source).raw_connection()
    try:
        yield from pg_copy.stream_batches(conn.driver_connection, job.csv_sql, job.schema)
    finally:
        conn.close()


def read_adbc(job: Job) -> Iterator[pa.RecordBatch]:
    conn = pg_adbc.connect(pg_adbc.libpq_dsn(job.source.conn_string, session_options(), "dwh_bronze"))
    try:
        yield from pg_adbc.stream_batches(conn, job.typed_sql, job.schema)
    finally:
        conn.close()


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def,override]
        return len(b)


def read_copy(job: Job) -> Iterator[pa.RecordBatch]:
    """The CSV COPY sent nowhere, unparsed: what the server and the socket cost without any reader."""
    conn = source_engine(job.source).raw_connection()
    try:
        conn.cursor().copy_expert(job.csv_sql, _Discard(), size=1 << 20)
        yield from ()
    finally:
        conn.close()


READERS: dict[str, Callable[[Job], Iterator[pa.RecordBatch]]] = {"csv": read_csv, "adbc": read_adbc, "copy": read_copy}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """This process's CPU seconds (user + system, all threads); the server's are not counted."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(driver: str, jobs: list[Job]) -> dict:
    """Read every job with one reader, dropping the batches; seconds and rows per table."""
    per_table: dict[str, dict] = {}
    reader = READERS[driver]
    cpu_before = cpu_s()
    for job in jobs:
        for attempt in range(1, ATTEMPTS + 1):
            t0 = time.perf_counter()
            try:
                rows = sum(batch.num_rows for batch in reader(job))
                break
            except Exception as exc:
                # On a shared server another session may cancel ours; the read is timed again from the start.
                if "canceling statement due to user request" not in str(exc) or attempt == ATTEMPTS:
                    raise
                log.warning("%s %s.%s cancelled by the server, read again", driver, job.source.name, job.table)
        seconds = time.perf_counter() - t0
        entry = per_table.setdefault(job.table, {"rows": 0, "s": 0.0})
        entry["rows"] += rows
        entry["s"] = round(entry["s"] + seconds, 3)
        log.info("%s %s.%s: %s rows in %.2fs", driver, job.source.name, job.table, f"{rows:,}", seconds)
    return {
        "driver": driver,
        "rows": sum(t["rows"] for t in per_table.values()),
        "s": round(sum(t["s"] for t in per_table.values()), 3),
        "cpu_s": round(cpu_s() - cpu_before, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tables": per_table,
    }


def compare(job: Job) -> list[str]:
    """Differences between the two readers' results for one job (empty when equal)."""
    problems = []
    con = duckdb.connect()
    try:
        for driver in DRIVERS:
            con.register("empty", job.schema.empty_table())
            con.execute(f"CREATE TABLE {driver} AS SELECT * FROM empty")
            con.unregister("empty")
            for batch in READERS[driver](job):
                if batch.schema != job.schema:
                    problems.append(f"{driver}: schema {batch.schema} is not the declared {job.schema}")
                con.execute(f"INSERT INTO {driver} SELECT * FROM batch")
        counts = [con.execute(f"SELECT count(*) FROM {d}").fetchone()[0] for d in DRIVERS]  # type: ignore[index]
        if counts[0] != counts[1]:
            problems.append(f"rows: csv {counts[0]}, adbc {counts[1]}")
        for left, right in (DRIVERS, DRIVERS[::-1]):
            only = con.execute(f"SELECT count(*) FROM (FROM {left} EXCEPT ALL FROM {right})").fetchone()[0]  # type: ignore[index]
            if only:
                sample = con.execute(f"FROM {left} EXCEPT ALL FROM {right} LIMIT 2").fetchall()
                problems.append(f"{only} rows only in {left}, e.g. {sample}")
        types = [dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {d})").fetchall()) for d in DRIVERS]
        if types[0] != types[1]:
            problems.append(f"DuckDB types differ: {types}")
    finally:
        con.close()
    return problems


def _child(config: Path | None, driver: str, tables: str | None) -> dict:
    command = [sys.executable, "-m", "dwh.bench.extract_drivers", "--driver", driver]
    if config:
        command += ["--config", str(config)]
    if tables:
        command += ["--tables", tables]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def report(runs: list[dict]) -> str:
    """Per table: the best seconds of each reader over the repeats (and its ratio to csv), and the totals."""
    drivers = list(dict.fromkeys(run["driver"] for run in runs))
    best: dict[str, dict] = {d: {} for d in drivers}
    totals: dict[str, list[float]] = {d: [] for d in drivers}
    rss: dict[str, float] = {d: 0.0 for d in drivers}
    cpu: dict[str, list[float]] = {d: [] for d in drivers}
    rows: dict[str, int] = {}
    for run in runs:
        d = run["driver"]
        totals[d].append(run["s"])
        rss[d] = max(rss[d], run["peak_rss_mb"])
        cpu[d].append(run["cpu_s"])
        for table, entry in run["tables"].items():
            best[d][table] = min(best[d].get(table, float("inf")), entry["s"])
            rows[table] = max(rows.get(table, 0), entry["rows"])
    others = [d for d in drivers if d != "csv"]

    def line(label: str, count: int, seconds: dict[str, float]) -> str:
        c = seconds.get("csv", 0.0)
        ratios = "".join(f"{seconds.get(d, 0.0) / c if c else 0.0:>10.2f}" for d in others)
        return f"{label:<24}{count:>12,}" + "".join(f"{seconds.get(d, 0.0):>9.2f}" for d in drivers) + ratios

    header = f"{'table (best run)':<24}{'rows':>12}" + "".join(f"{d + ' s':>9}" for d in drivers)
    lines = [header + "".join(f"{d + '/csv':>10}" for d in others)]
    for table in sorted(rows, key=lambda t: -best.get("csv", {}).get(t, 0.0)):
        lines.append(line(table, rows[table], {d: best[d].get(table, 0.0) for d in drivers}))
    lines.append(line("sum of bests", sum(rows.values()), {d: sum(best[d].values()) for d in drivers}))
    lines.append("total of each run: " + "; ".join(f"{d} {_runs(totals[d])} s" for d in drivers))
    lines.append("client CPU: " + "; ".join(f"{d} {_runs(cpu[d])} s" for d in drivers))
    lines.append("peak RSS: " + ", ".join(f"{d} {rss[d]:.0f} MB" for d in drivers))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.bench.extract_drivers", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="dwh config file (default: $DWH_CONFIG)")
    parser.add_argument("--driver", choices=list(READERS), help="measure one reader in this process (a child's job)")
    parser.add_argument("--tables", default=None, help="comma-separated bronze tables (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each reader, alternating their order")
    parser.add_argument("--check", default=None, help="comma-separated tables to compare instead of timing")
    parser.add_argument(
        "--with-copy", action="store_true", help="also time the CSV COPY sent nowhere unparsed (the 'copy' reader)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the runs here")
    args = parser.parse_args(argv)
    setup_logging()
    selected = bronze_settings.selected_tables()
    if args.tables:
        names = set(args.tables.split(","))
        selected = [t for t in selected if t.name in names]
    if args.check:
        names = set(args.check.split(","))
        checked = [t for t in selected if t.name in names]
        jobs = jobs_for(load_config(args.config), checked, bronze_settings.incremental_start(), as_of_date())
        failed = 0
        for job in jobs:
            problems = compare(job)
            failed += bool(problems)
            verdict = "; ".join(problems) if problems else "same rows, values, types"
            log.info("%s.%s: %s", job.source.name, job.table, verdict)
        return 1 if failed else 0
    if args.driver:
        jobs = jobs_for(load_config(args.config), selected, bronze_settings.incremental_start(), as_of_date())
        sys.stdout.write(json.dumps(measure(args.driver, jobs)) + "\n")
        return 0
    runs = []
    drivers = [*DRIVERS, "copy"] if args.with_copy else list(DRIVERS)
    for i in range(args.repeat):
        for driver in drivers if i % 2 == 0 else drivers[::-1]:
            runs.append(_child(args.config, driver, args.tables))
            log.info("%s run %d: %.1fs, peak RSS %.0f MB", driver, i + 1, runs[-1]["s"], runs[-1]["peak_rss_mb"])
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1) + "\n")
    sys.stdout.write(report(runs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
