"""The application database's interventions as a dlt resource: a full read each run, replacing the source's rows."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa

from dwh.app_db.engine import AppDbError
from dwh.app_db.export import read_interventions
from dwh.settings import SourceDatabase, time_zone
from dwh.sources.catalog import BronzeTable
from dwh.sources.declared import UndeclaredColumn, declared_columns

_ARROW = {
    "BIGINT": pa.int64(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(table: str) -> pa.Schema:
    """source_db and the table's declared bronze columns, as Arrow types."""
    fields = [pa.field("source_db", pa.string())]
    for name, data_type in declared_columns().get(table, ()):
        if data_type not in _ARROW:
            raise UndeclaredColumn(f"bronze.{table}.{name}: type {data_type} has no Arrow mapping here")
        fields.append(pa.field(name, _ARROW[data_type]))
    return pa.schema(fields)


def recorded_before(as_of: dt.date) -> dt.datetime:
    """The first instant after the as-of day on the warehouse's clock: nothing recorded later is read."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=zoneinfo.ZoneInfo(time_zone()))


def read_table(table: BronzeTable, source: SourceDatabase, as_of: dt.date) -> pa.Table:
    """Every intervention recorded on or before the as-of day, typed as bronze declares it.

    Read at once (the table is small), so an unreachable database fails before anything is loaded.
    """
    schema = arrow_schema(table.name)
    rows: list[dict[str, Any]] = []
    failure = ""
    try:
        rows = read_interventions(source.conn_string, recorded_before(as_of))
    except AppDbError as exc:
        failure = f"source {source.name}, table {table.name}: {exc}"
    if failure:
        # Raised outside the handler, so the bronze report shows this message rather than the chained one.
        raise RuntimeError(failure)
    for row in rows:
        row["source_db"] = source.name
    return pa.Table.from_pylist(rows, schema=schema)


def intervenciones_resource(table: BronzeTable, data: pa.Table, source_name: str) -> dlt.sources.DltResource:
    """Replace the source's rows: a merge on source_db, so other application databases keep theirs."""

    def rows() -> Iterator[pa.Table]:
        yield data

    return dlt.resource(
        rows,
        name=f"{table.name}__{source_name}",
        table_name=table.name,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key=["source_db"],
        schema_contract={"data_type": "freeze"},
    )


def dry_run_line(table: BronzeTable, source: SourceDatabase, as_of: dt.date) -> tuple[bool, str]:
    """(readable, what a run would load) for --dry-run; reads the table, writes nothing."""
    label = f"  {table.name}__{source.name}: full read of the application database (replaces the source's rows)"
    try:
        data = read_table(table, source, as_of)
    except RuntimeError as exc:
        return False, f"{label}: FAILS: {exc}"
    return True, f"{label}: {data.num_rows} rows recorded on or before {as_of}"
