"""Stream a PostgreSQL query as typed Arrow batches through COPY ... TO STDOUT (CSV), with bounded memory."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

log = logging.getLogger(__name__)
BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class ColumnSpec:
    """A result column: its name, Arrow type, and how it is written into the CSV stream."""

    name: str
    arrow: pa.DataType
    output: str  # SQL expression over the subquery alias q
    # The same value as a SQL expression of the PostgreSQL type matching `arrow`, for a binary reader
    # (dwh.sources.pg_adbc); empty when `output` is one already (only instants are written as text).
    typed: str = ""


def arrow_schema(specs: list[ColumnSpec]) -> pa.Schema:
    return pa.schema([pa.field(s.name, s.arrow) for s in specs])


def copy_query(inner_sql: str, specs: list[ColumnSpec]) -> str:
    """COPY of the inner query with every column rendered for the CSV reader."""
    outputs = ", ".join(f'{s.output} AS "{s.name}"' for s in specs)
    return f"COPY (SELECT {outputs} FROM ({inner_sql}) AS q) TO STDOUT WITH (FORMAT csv)"


def stream_batches(connection: Any, sql: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Run `sql` (a COPY TO STDOUT) on the psycopg2 connection and yield its rows as Arrow batches.

    PostgreSQL writes into a pipe from a helper thread while this generator parses the other end, so
    at most a few blocks are in memory. NULL is an unquoted empty field, an empty string a quoted one.
    """
    read_fd, write_fd = os.pipe()
    reader_file = os.fdopen(read_fd, "rb", buffering=BLOCK_BYTES)
    writer_file = os.fdopen(write_fd, "wb", buffering=BLOCK_BYTES)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            connection.cursor().copy_expert(sql, writer_file)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            failure.append(exc)
        finally:
            try:
                writer_file.close()
            except OSError:
                pass  # the reader went away first

    thread = threading.Thread(target=produce, name="pg-copy", daemon=True)
    thread.start()
    options = pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )
    read_options = pacsv.ReadOptions(column_names=schema.names, block_size=BLOCK_BYTES)
    finished = False
    try:
        try:
            reader = pacsv.open_csv(reader_file, read_options=read_options, convert_options=options)
        except pa.ArrowInvalid as exc:
            thread.join()
            if failure:
                raise failure[0]
            if "Empty CSV" not in str(exc):
                raise
            finished = True
            return
        try:
            for batch in reader:
                yield batch
        except pa.ArrowInvalid:
            thread.join()
            if failure:  # the query failed mid-stream: its error explains the cut-off CSV
                raise failure[0] from None
            raise
        thread.join()
        if failure:
            raise failure[0]
        finished = True
    finally:
        if not finished and thread.is_alive():
            # The consumer stopped early: stop the server-side query and unblock the writer.
            connection.cancel()
        reader_file.close()
        thread.join(timeout=30)
