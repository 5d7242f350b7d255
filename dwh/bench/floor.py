"""The floor for bronze: the same extraction queries through `COPY ... TO STDOUT` into CSV, then DuckDB `read_csv`.

Nothing here is what dwh runs; it is the fastest plain way to move the same rows from PostgreSQL into DuckDB
on the same machine, so the bronze load can be judged against it. Run as a child process by `python -m
dwh.bench` (so its peak RSS is measured alone); it prints one JSON line with the counts and timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

import duckdb
import psycopg2

from dwh.logs import setup_logging
from dwh.pipelines import bronze_settings
from dwh.settings import SourceDatabase, as_of_date, load_config
from dwh.sources.catalog import BronzeTable
from dwh.sources.changes import render
from dwh.sources.sql_resource import NO_SCOPE, initial_cursor, read_sql, source_engine

log = logging.getLogger("dwh.bench.floor")
_SCHEMA_VARIANT_CODES = {"42P01", "42703", "3F000", "42883"}  # as dwh.sources.sql_resource.describe
# PostgreSQL type OIDs -> DuckDB types, so read_csv parses every column as bronze types it.
_DUCKDB_TYPES = {
    16: "BOOLEAN",
    20: "BIGINT",
    21: "SMALLINT",
    23: "INTEGER",
    700: "FLOAT",
    701: "DOUBLE",
    18: "VARCHAR",
    19: "VARCHAR",
    25: "VARCHAR",
    1042: "VARCHAR",
    1043: "VARCHAR",
    1082: "DATE",
    1083: "TIME",
    1114: "TIMESTAMP",
    1184: "TIMESTAMPTZ",
    2950: "UUID",
}


class _Variant(Exception):
    """The source lacks something the query needs (the same rule bronze uses to fall back or skip)."""


def duckdb_settings(warehouse: Path) -> dict:
    """DuckDB settings as bronze configures dlt's DuckDB destination for this warehouse (DWH_MEMORY_LIMIT's cap,
    the spill directory beside it, two threads)."""
    env = {"DWH_DUCKDB_PATH": str(warehouse)}
    if (limit := os.environ.get("DWH_MEMORY_LIMIT")) is not None:
        env["DWH_MEMORY_LIMIT"] = limit
    return json.loads(bronze_settings.configure_dlt(env)[bronze_settings.DUCKDB_CONFIG])


def _duckdb_type(col) -> str:
    if col.type_code == 1700:
        return f"DECIMAL({col.precision},{col.scale})" if col.precision and col.precision <= 38 else "DECIMAL(38,10)"
    return _DUCKDB_TYPES.get(col.type_code, "VARCHAR")


def bind_params(table: BronzeTable, sql: str, start: dt.date, as_of: dt.date) -> str:
    """The query with :start_value (the table's first cursor value, as on a first load) and :as_of as literals."""
    sql = render(sql, None).replace(":as_of", f"'{as_of.isoformat()}'").replace(":cursor_cap", f"'{as_of.isoformat()}'")
    for name in NO_SCOPE:
        sql = sql.replace(f":{name}", "'{}'")
    if ":start_value" not in sql:
        return sql
    return sql.replace(":start_value", f"'{initial_cursor(table, start).isoformat()}'")


def _query_for(conn, table: BronzeTable, start: dt.date, as_of: dt.date) -> tuple[str, list[tuple[str, str]]] | None:
    """The SQL bronze would run on this source (main file, else fallback), its columns, or None to skip."""
    paths = [table.sql_path] + ([table.fallback_path] if table.fallback_path else [])
    for path in paths:
        sql = bind_params(table, read_sql(path), start, as_of)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM (\n{sql}\n) AS probe LIMIT 0")
                columns = [(c.name, _duckdb_type(c)) for c in cur.description]
            conn.rollback()
            return sql, columns
        except psycopg2.ProgrammingError as exc:
            conn.rollback()
            if exc.pgcode not in _SCHEMA_VARIANT_CODES:
                raise
            log.warning("%s: %s", path.name, str(exc).splitlines()[0])
    if not table.optional:
        raise _Variant(f"table {table.name}: no query works on this source")
    return None


def copy_csv(conn, source: SourceDatabase, sql: str, path: Path) -> None:
    statement = (
        f"COPY (SELECT '{source.name}' AS source_db, q.* FROM (\n{sql}\n) AS q) TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    with open(path, "wb") as out, conn.cursor() as cur:
        cur.copy_expert(statement, out, size=1 << 20)
    conn.rollback()


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + "]"


def load_csv(con: duckdb.DuckDBPyConnection, table: str, files: list[Path], columns: list[tuple[str, str]]) -> int:
    struct = "{" + ", ".join(f"'{name}': '{typ}'" for name, typ in [("source_db", "VARCHAR"), *columns]) + "}"
    con.execute(
        f'CREATE TABLE "{table}" AS SELECT * FROM read_csv({_sql_list([str(f) for f in files])}, '
        f"header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
        f"columns = {struct})"
    )
    return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def run_floor(
    sources: list[SourceDatabase],
    tables: list[BronzeTable],
    warehouse: Path,
    csv_dir: Path,
    start: dt.date,
    as_of: dt.date,
    keep_csv: bool = False,
) -> dict:
    """COPY every (table, source) to CSV and load each table's CSVs into a fresh DuckDB file."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    conns = {s.name: source_engine(s).raw_connection() for s in sources}
    con = duckdb.connect(str(warehouse))
    for key, value in duckdb_settings(warehouse).items():
        con.execute(f"SET {key} = {value!r}" if isinstance(value, str) else f"SET {key} = {value}")
    per_table: dict[str, dict] = {}
    try:
        for table in tables:
            files, columns, copy_s, csv_bytes = [], None, 0.0, 0
            for source in (s for s in sources if s.kind == table.kind):
                query = _query_for(conns[source.name], table, start, as_of)
                if query is None:
                    continue
                sql, columns = query
                path = csv_dir / f"{table.name}__{source.name}.csv"
                t0 = time.perf_counter()
                copy_csv(conns[source.name], source, sql, path)
                copy_s += time.perf_counter() - t0
                csv_bytes += path.stat().st_size
                files.append(path)
            if not files:
                continue
            t0 = time.perf_counter()
            rows = load_csv(con, table.name, files, columns)
            load_s = time.perf_counter() - t0
            if not keep_csv:
                for f in files:
                    f.unlink()
            per_table[table.name] = {
                "rows": rows,
                "copy_s": round(copy_s, 3),
                "load_s": round(load_s, 3),
                "csv_mb": round(csv_bytes / 2**20, 1),
            }
            log.info(
                "%s: %s rows, COPY %.1fs, read_csv %.1fs, %.0f MB CSV",
                table.name,
                f"{rows:,}",
                copy_s,
                load_s,
                csv_bytes / 2**20,
            )
    finally:
        con.close()
        for c in conns.values():
            c.close()
    return {
        "rows": sum(t["rows"] for t in per_table.values()),
        "copy_s": round(sum(t["copy_s"] for t in per_table.values()), 3),
        "load_s": round(sum(t["load_s"] for t in per_table.values()), 3),
        "tables": per_table,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.bench.floor", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="dwh config file (default: $DWH_CONFIG)")
    parser.add_argument("--duckdb", type=Path, required=True, help="DuckDB file to create (replaced)")
    parser.add_argument("--csv-dir", type=Path, required=True, help="where the CSV files go")
    parser.add_argument("--keep-csv", action="store_true", help="keep the CSV files")
    args = parser.parse_args(argv)
    setup_logging()
    result = run_floor(
        load_config(args.config),
        bronze_settings.selected_tables(),
        args.duckdb,
        args.csv_dir,
        bronze_settings.incremental_start(),
        as_of_date(),
        args.keep_csv,
    )
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
