"""Stream a PostgreSQL query as typed Arrow batches through the ADBC driver (binary COPY), with bounded memory.

The driver runs the query as `COPY (...) TO STDOUT (FORMAT binary)` and decodes the rows straight into Arrow
batches of about BATCH_BYTES each, pulled one at a time. Each column is selected as the PostgreSQL type of
its declared bronze type (ColumnSpec.typed, see dwh.sources.coerce), so the batches need only a cast to the
declared Arrow schema: NUMERIC arrives as text (an opaque extension type) and is cast to its DECIMAL(p,s).

Bronze does not use it: measured against the CSV reader (dwh.sources.pg_copy) on the same queries it was not
faster, the queries' own run time in the server dominating (dwh/docs/BENCHMARKS.md, "Extraction readers").
It stays for that benchmark (dwh.bench.extract_drivers), which needs the `dev` extra's adbc-driver-postgresql.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from dwh.sources.pg_copy import ColumnSpec

log = logging.getLogger(__name__)
BATCH_BYTES = 4 << 20  # the driver's size hint per batch (its default is 16 MB)
_BATCH_OPTION = "adbc.postgresql.batch_size_hint_bytes"

try:
    from adbc_driver_postgresql import dbapi as _dbapi
except ImportError:  # pragma: no cover - a production install has no need of it
    _dbapi = None


def typed_query(inner_sql: str, specs: list[ColumnSpec]) -> str:
    """The inner query with every column as the PostgreSQL type of its declared type."""
    outputs = ", ".join(f'{s.typed or s.output} AS "{s.name}"' for s in specs)
    return f"SELECT {outputs} FROM ({inner_sql}) AS q"


def libpq_dsn(url: sa.URL | str, options: str, application_name: str) -> str:
    """A libpq keyword/value connection string for the SQLAlchemy URL, as psycopg2 would connect.

    SQLAlchemy's own translation gives host (also a unix-socket directory from `?host=`), port, dbname,
    user, password and the other query parameters (sslmode, ...); the session options are added to them.
    """
    url = sa.make_url(url)
    _args, params = url.set(drivername="postgresql+psycopg2").get_dialect()().create_connect_args(url)
    params = {k: str(v) for k, v in params.items() if v is not None}
    params.update(options=options, application_name=application_name)
    return " ".join(f"{key}={_dsn_value(value)}" for key, value in params.items())


def _dsn_value(value: str) -> str:
    """A libpq keyword/value value: quoted, with backslashes and single quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_declared(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The driver's batch as the declared schema (names checked, each column cast to its declared type)."""
    if batch.schema.names != schema.names:
        raise ValueError(f"ADBC returned columns {batch.schema.names}, expected {schema.names}")
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if isinstance(column, pa.ExtensionArray):  # numeric: text in an opaque extension type
            column = column.storage
        if column.type != field.type:
            column = column.cast(field.type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def connect(dsn: str) -> Any:
    if _dbapi is None:
        raise RuntimeError("adbc-driver-postgresql is not installed (it is in the dev extra)")
    return _dbapi.connect(dsn)


def stream_batches(connection: Any, sql: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Run the SELECT `sql` (parameters already bound) on the ADBC connection; yield declared-type batches.

    If the consumer stops early the server-side query is cancelled, as dwh.sources.pg_copy does.
    """
    cursor = connection.cursor()
    finished = False
    try:
        cursor.adbc_statement.set_options(**{_BATCH_OPTION: str(BATCH_BYTES)})
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        for batch in reader:
            yield to_declared(batch, schema)
        finished = True
    finally:
        if not finished:
            try:
                cursor.adbc_cancel()
            except Exception as exc:  # noqa: BLE001 - the connection is closed next anyway
                log.debug("cancel failed: %s", exc)
        cursor.close()
