"""Bronze as the SQL layers see it: its declared tables and load log, created empty where a source lacks them."""

from __future__ import annotations

import duckdb

from dwh.sources.declared import BRONZE_DDL

DATASET = "bronze"
LOG_TABLE = "_dwh_load_log"
LOG_DDL = (
    f"CREATE TABLE IF NOT EXISTS {DATASET}.{LOG_TABLE} (run_id VARCHAR, started_at TIMESTAMPTZ, "
    "source_db VARCHAR, table_name VARCHAR, status VARCHAR, row_count BIGINT, message VARCHAR)"
)


def bronze_placeholders() -> list[str]:
    """Create-if-missing statements for every bronze table (a Moodle-less deployment has no Moodle tables)
    and for bronze's load log (silver reads which optional tables each source lacks)."""
    text = BRONZE_DDL.read_text(encoding="utf-8")
    return [f"CREATE SCHEMA IF NOT EXISTS {DATASET}"] + [s.query for s in duckdb.extract_statements(text)] + [LOG_DDL]
