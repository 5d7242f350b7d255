"""The demo: an embedded PostgreSQL, a synthetic university of about 5,000 students, and the pipeline."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dwh import devdb
from dwh import main as pipeline
from dwh.logs import setup_logging
from dwh.ops.publish import published_path
from dwh.settings import PACKAGE_DIR, warehouse_path
from dwh.synthetic.generate import TRUTH_SCHEMA, generate, write_config
from dwh.synthetic.params import GeneratorConfig

log = logging.getLogger("dwh.demo")
DEMO_CONFIG = PACKAGE_DIR / "data" / "demo_config.py"


def _source_rows(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{TRUTH_SCHEMA}.table_counts"}).scalar():
                return int(conn.execute(text(f"SELECT sum(row_count) FROM {TRUTH_SCHEMA}.table_counts")).scalar())
            return int(conn.execute(text("SELECT sum(n_live_tup) FROM pg_stat_user_tables")).scalar() or 0)
    finally:
        engine.dispose()


def _warehouse_rows(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables()").fetchall()
    counts: dict[str, int] = {}
    for schema, table, size in tables:
        if schema in ("bronze", "silver", "gold") and not table.startswith("_"):
            counts[schema] = counts.get(schema, 0) + int(size or 0)
    return counts


def main() -> int:
    setup_logging()
    students = int(os.environ.get("DWH_DEMO_STUDENTS", "5000"))
    admin_url = devdb.start(devdb.default_data_dir())
    cfg = GeneratorConfig(students=students, sources=2, seed=42, until=dt.date.today())
    sources = generate(cfg, admin_url)
    DEMO_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    write_config(DEMO_CONFIG, sources)
    os.environ["DWH_CONFIG"] = str(DEMO_CONFIG)
    code = pipeline.main([])
    warehouse = warehouse_path()
    lines = ["", "dwh demo", "--------", "sources (embedded PostgreSQL, stop it with `make devdb-stop`):"]
    lines += [f"  {s.name:<10} {s.kind:<8} {_source_rows(s.url):>12,} rows" for s in sources]
    layers = _warehouse_rows(warehouse)
    lines.append(f"warehouse: {warehouse}" + ("" if warehouse.exists() else " (not built yet)"))
    lines += [f"  {schema:<10} {rows:>12,} rows" for schema, rows in sorted(layers.items())]
    published = published_path(warehouse)
    lines.append(f"published copy for readers: {published}" + ("" if published.exists() else " (not published)"))
    lines += [
        "next:",
        f"  DWH_CONFIG={DEMO_CONFIG} .venv/bin/python -m dwh.main           # run the pipeline again",
        f"  DWH_CONFIG={DEMO_CONFIG} .venv/bin/python -m dwh.main status    # last runs, freshness, data tests",
        "  make dashboard                                          # then open http://127.0.0.1:8050",
        "  make test                                               # run the test suite",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
