"""Run the benchmarks: synthetic generation at each scale (later stages add their own measurements)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import resource
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dwh import devdb
from dwh.logs import setup_logging
from dwh.synthetic.generate import generate
from dwh.synthetic.params import GeneratorConfig

log = logging.getLogger("dwh.bench")


def _database_bytes(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())
    finally:
        engine.dispose()


def bench_generation(admin_url: str, students: int) -> dict:
    cfg = GeneratorConfig(students=students, until=dt.date(2025, 11, 27))
    started = time.perf_counter()
    sources = generate(cfg, admin_url, db_prefix=f"bench{students}_")
    seconds = time.perf_counter() - started
    rows = sum(s.rows for s in sources)
    size = sum(_database_bytes(s.url) for s in sources)
    peak = (
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        // 1024
    )
    return {
        "students": students,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "db_mb": size / 2**20,
        "peak_rss_mb": peak,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.bench", description=__doc__)
    parser.add_argument(
        "--students", type=int, nargs="+", default=[5000, 100000], help="scales to measure (default 5000 100000)"
    )
    parser.add_argument("--admin-url", default=None, help="PostgreSQL superuser URL (default: embedded dev server)")
    args = parser.parse_args(argv)
    setup_logging()
    admin_url = args.admin_url or devdb.start(devdb.default_data_dir())
    results = [bench_generation(admin_url, n) for n in args.students]
    header = f"{'stage':<12}{'students':>10}{'rows':>14}{'seconds':>10}{'rows/s':>12}{'db MB':>10}{'peak RSS MB':>13}"
    lines = ["", header, "-" * len(header)]
    lines += [
        f"{'generate':<12}{r['students']:>10,}{r['rows']:>14,}{r['seconds']:>10.1f}{r['rows_per_s']:>12,.0f}"
        f"{r['db_mb']:>10,.0f}{r['peak_rss_mb']:>13,}"
        for r in results
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    for r in results:
        for name in ("guarani_a", "guarani_b", "guarani_c", "moodle"):
            devdb.drop_database(admin_url, f"bench{r['students']}_{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
