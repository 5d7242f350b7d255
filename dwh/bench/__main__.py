"""Run the benchmarks at each scale: synthetic generation, then bronze (floor, full load, nightly incremental).

Every measured stage runs as a child process, so wall time and peak RSS (from the kernel, via GNU time -v)
belong to that stage alone. See dwh/docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dwh import devdb
from dwh.bench.bronze import StageResult, run_bronze_stage, run_floor_stage
from dwh.bench.layers import run_layer_stage
from dwh.bench.measure import Measurement, python_module, run_measured
from dwh.bench.ml import MODELS as ML_MODELS
from dwh.bench.ml import run_ml_stage
from dwh.bench.mutate import Delta, mutate
from dwh.logs import setup_logging
from dwh.settings import DEFAULT_MEMORY_LIMIT, load_config
from dwh.synthetic.generate import MOODLE_NAME, SOURCE_NAMES, GeneratedSource, write_config
from dwh.synthetic.params import GeneratorConfig
from dwh.synthetic.profile import PROFILES

log = logging.getLogger("dwh.bench")

# Targets of the bronze benchmark (issue): full load within 1.5x the floor, the incremental run within 5% of the
# full load, peak RSS under 1 GB and flat as the scale grows (read here as: largest / smallest <= 1.25).
TARGET_FULL_VS_FLOOR = 1.5
TARGET_INCR_VS_FULL = 0.10
TARGET_RSS_MB = 1024
TARGET_RSS_GROWTH = 1.25
# Targets of the memory cap (DWH_MEMORY_LIMIT, default 1GB): every pipeline stage (bronze b and c, silver s,
# gold g) peaks at <= 1.5 GB, and silver and gold under the cap take at most 25% longer than uncapped (s', g').
TARGET_CAPPED_RSS_MB = 1536
TARGET_CAP_SLOWDOWN = 1.25
CAPPED_STAGES = ("b", "s ", "g ", "c", "d", "e")
DEFAULT_DELTA = 0.005


@dataclass
class ScaleResult:
    students: int
    stages: list[StageResult] = field(default_factory=list)
    db_mb: float = 0.0
    deltas: list[Delta] = field(default_factory=list)
    deltas_steady: list[Delta] = field(default_factory=list)

    def stage(self, prefix: str) -> StageResult | None:
        return next((s for s in self.stages if s.stage.startswith(prefix)), None)


def _database_bytes(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())
    finally:
        engine.dispose()


def _database_exists(admin_url: str, name: str) -> bool:
    engine = create_engine(admin_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar())
    finally:
        engine.dispose()


def database_names(cfg: GeneratorConfig, prefix: str) -> list[tuple[str, str]]:
    """(source name, database name) of what the generator creates for cfg."""
    names = [(SOURCE_NAMES[i], prefix + SOURCE_NAMES[i]) for i in range(cfg.sources)]
    return names + ([(MOODLE_NAME, prefix + MOODLE_NAME)] if cfg.moodle else [])


def bench_generation(
    admin_url: str,
    cfg: GeneratorConfig,
    prefix: str,
    work: Path,
    timeout: float | None = None,
    profile: str = "realistic",
) -> tuple[StageResult, float]:
    """Generate the sources in a child process (`python -m dwh.synthetic`) and write their config file."""
    out = work / "generate.out"
    out.unlink(missing_ok=True)
    m = run_measured(
        python_module(
            "dwh.synthetic",
            "--students",
            str(cfg.students),
            "--sources",
            str(cfg.sources),
            "--until",
            cfg.until.isoformat(),
            "--admin-url",
            admin_url,
            "--db-prefix",
            prefix,
            "--profile",
            profile,
            "--write-config",
            str(work / "config.py"),
        ),
        work / "generate.log",
        stdout_path=out,
        timeout=timeout,
    )
    if not m.ok:
        what = f"timed out after {m.wall_s:.0f}s" if m.timed_out else f"exit {m.returncode}"
        return StageResult("generate", 0, m, problem=f"{what}, see {m.log_path}"), 0.0
    rows = sum(int(line.split("\t")[2]) for line in out.read_text().splitlines() if line.count("\t") >= 3)
    size = sum(_database_bytes(s.conn_string) for s in load_config(work / "config.py"))
    return StageResult("generate", rows, m), size / 2**20


def reuse_sources(admin_url: str, cfg: GeneratorConfig, prefix: str, work: Path) -> bool:
    """Point the config at databases a previous `--keep` run left, if they are all there."""
    names = database_names(cfg, prefix)
    if not all(_database_exists(admin_url, db) for _, db in names):
        return False
    sources = [
        GeneratedSource(name, "moodle" if name == MOODLE_NAME else "guarani", devdb.url_for(admin_url, db), 0)
        for name, db in names
    ]
    write_config(work / "config.py", sources)
    log.info("reusing the existing databases %s", ", ".join(db for _, db in names))
    return True


def _fresh_warehouse(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_suffix(path.suffix + ".wal").unlink(missing_ok=True)
    shutil.rmtree(path.parent / f"{path.stem}.dlt", ignore_errors=True)


def settle(admin_url: str, config: Path, vacuum: bool) -> None:
    """Quiet the machine before a measurement: VACUUM the sources after a bulk load (so autovacuum does not
    run during a stage and pages are all-visible, as in a long-lived database), then CHECKPOINT and write the
    OS's dirty pages out, so one stage's writes are not paid by the next one."""
    started = time.perf_counter()
    if vacuum:
        for source in load_config(config):
            engine = create_engine(source.conn_string, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    conn.execute(text("VACUUM (ANALYZE)"))
            finally:
                engine.dispose()
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
    except Exception as exc:  # noqa: BLE001 - a server we may not CHECKPOINT is still measurable
        log.warning("CHECKPOINT failed (%s); measuring anyway", str(exc).splitlines()[0])
    finally:
        engine.dispose()
    os.sync()
    log.info(
        "settled (%s) in %.1fs",
        "VACUUM, CHECKPOINT, sync" if vacuum else "CHECKPOINT, sync",
        time.perf_counter() - started,
    )


def bench_scale(
    admin_url: str,
    students: int,
    until: dt.date,
    only: str | None,
    delta: float,
    work_root: Path,
    timeout: float | None = None,
    profile: str = "realistic",
    ml: bool = False,
) -> ScaleResult:
    cfg = GeneratorConfig(students=students, until=until, shapes=PROFILES[profile])
    prefix = _prefix(students, profile)
    work = work_root / f"s{students}"
    work.mkdir(parents=True, exist_ok=True)
    result = ScaleResult(students)
    if only == "bronze" and reuse_sources(admin_url, cfg, prefix, work):
        pass
    else:
        log.info("generating %s students", f"{students:,}")
        gen, result.db_mb = bench_generation(admin_url, cfg, prefix, work, timeout, profile)
        result.stages.append(gen)
        if not gen.ok:
            return result
    if only == "generate":
        return result
    config = work / "config.py"
    settle(admin_url, config, vacuum=True)
    log.info("(a) floor: COPY TO STDOUT into CSV and DuckDB read_csv")
    result.stages.append(run_floor_stage(config, work, timeout))
    warehouse = work / "warehouse.duckdb"
    _fresh_warehouse(warehouse)
    settle(admin_url, config, vacuum=False)
    log.info("(b) full bronze load")
    full = run_bronze_stage("b bronze full", config, warehouse, work / "bronze_full.log", timeout)
    result.stages.append(full)
    if full.detail.get("run_id") is None:
        return result
    log.info("(s) silver build on the full bronze")
    silver = run_layer_stage("silver", warehouse, work / "silver.log", timeout)
    result.stages.append(silver)
    gold = None
    if silver.ok:
        log.info("(g) gold build on that silver")
        gold = run_layer_stage("gold", warehouse, work / "gold.log", timeout)
        result.stages.append(gold)
    if gold is not None and gold.ok:
        # the same two builds uncapped (DWH_MEMORY_LIMIT=none), in the same run: what the default cap costs
        log.info("(s') silver build again, uncapped")
        result.stages.append(run_layer_stage("silver", warehouse, work / "silver_nocap.log", timeout, capped=False))
        if result.stages[-1].ok:
            log.info("(g') gold build again, uncapped")
            result.stages.append(run_layer_stage("gold", warehouse, work / "gold_nocap.log", timeout, capped=False))
        if ml:
            for model in ML_MODELS:
                log.info("(m) training %s on that gold", model)
                result.stages.append(run_ml_stage(model, warehouse, work, timeout))
    result.deltas = _another_night(admin_url, config, delta)
    log.info("(c) first nightly bronze run (it also reconciles every table's keys once)")
    result.stages.append(run_bronze_stage("c incremental", config, warehouse, work / "bronze_incremental.log", timeout))
    if not result.stages[-1].ok:
        return result
    result.deltas_steady = _another_night(admin_url, config, delta)
    log.info("(d) a later nightly bronze run (reconciliations as their cost decides: DWH_RECONCILE=auto)")
    result.stages.append(run_bronze_stage("d nightly", config, warehouse, work / "bronze_nightly.log", timeout))
    if not result.stages[-1].ok:
        return result
    _another_night(admin_url, config, delta)
    log.info("(e) a whole nightly run: python -m dwh.main (bronze, silver, gold, publish)")
    result.stages.append(
        run_bronze_stage("e nightly run", config, warehouse, work / "nightly_run.log", timeout, module="dwh.main")
    )
    return result


def _another_night(admin_url: str, config: Path, delta: float) -> list[Delta]:
    """One night of source activity (about `delta` new and changed rows), then a quiet machine."""
    log.info("mutating the sources: about %.2f%% new and changed rows", delta * 100)
    deltas = mutate(load_config(config), delta)
    settle(admin_url, config, vacuum=False)
    return deltas


def _ratio(num: StageResult | None, den: StageResult | None) -> float | None:
    if num is None or den is None or not num.ok or not den.ok or den.measurement.wall_s <= 0:
        return None
    return num.measurement.wall_s / den.measurement.wall_s


def _verdict(ok: bool | None) -> str:
    return "PASS" if ok else "MISS"


def report(results: list[ScaleResult]) -> str:
    header = (
        f"{'students':>9}  {'stage':<15}{'rows':>13}{'wall s':>9}{'rows/s':>11}{'peak RSS MB':>13}{'tree MB':>9}  note"
    )
    lines = ["", header, "-" * (len(header) + 20)]
    for r in results:
        for s in r.stages:
            m: Measurement = s.measurement
            note = s.problem or ""
            if s.stage == "generate" and not note:
                note = f"db {r.db_mb:,.0f} MB"
            deltas = r.deltas if s.stage.startswith("c") else r.deltas_steady if s.stage.startswith("d") else []
            if deltas and not note:
                ins = sum(d.inserted for d in deltas)
                upd = sum(d.updated for d in deltas)
                base = sum(d.table_rows for d in deltas)
                note = f"after {ins:,} new + {upd:,} changed source rows ({(ins + upd) / base:.2%} of those tables)"
            if s.stage.startswith(("s", "g", "m")) and not note:
                note = s.detail.get("note", "")
            if s.stage.startswith(("b", "c", "d", "e")) and s.ok:
                secs = s.detail.get("source_s", {})
                note = (note + "; " if note else "") + " ".join(f"{k} {v:.0f}s" for k, v in secs.items())
            lines.append(
                f"{r.students:>9,}  {s.stage:<15}{s.rows:>13,}{m.wall_s:>9.1f}{s.rows_per_s:>11,.0f}"
                f"{m.peak_rss_mb:>13,.0f}{m.tree_rss_mb:>9,.0f}  {note}"
            )
    lines.append("")
    peaks = []
    for r in results:
        a, b, c, d = r.stage("a"), r.stage("b"), r.stage("c"), r.stage("d")
        if b is None:
            continue
        ba, cb = _ratio(b, a), _ratio(c, b)
        bronze_peak = max((s.measurement.peak_rss_mb for s in (b, c, d) if s is not None), default=0.0)
        if b.ok and (c is None or c.ok):
            peaks.append((r.students, bronze_peak))
        fmt = lambda v: "failed" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(f"{r.students:,} students:")
        lines.append(
            f"  b/a  full load / floor          {fmt(ba):>8}   target <= {TARGET_FULL_VS_FLOOR:.2f}   "
            f"{_verdict(ba is not None and ba <= TARGET_FULL_VS_FLOOR)}"
        )
        db = _ratio(d, b)
        lines.append(f"  c/b  first nightly / full load  {fmt(cb):>8}   (includes each table's first reconciliation)")
        lines.append(
            f"  d/b  nightly / full load        {fmt(db):>8}   target <= {TARGET_INCR_VS_FULL:.2f}   "
            f"{_verdict(db is not None and db <= TARGET_INCR_VS_FULL)}"
        )
        lines.append(
            f"  peak RSS of bronze (b, c, d) {bronze_peak:>8,.0f} MB  target < {TARGET_RSS_MB:,} MB  "
            f"{_verdict(b.ok and (c is None or c.ok) and bronze_peak < TARGET_RSS_MB)}"
        )
    for r in results:
        lines += _cap_lines(r)
    if len(peaks) >= 2:
        low, high = min(p for _, p in peaks), max(p for _, p in peaks)
        growth = high / low if low else float("inf")
        scales = ", ".join(f"{n:,}: {p:,.0f} MB" for n, p in peaks)
        lines.append(
            f"peak RSS of bronze across scales ({scales}): x{growth:.2f}, flat means <= "
            f"x{TARGET_RSS_GROWTH:.2f}   {_verdict(growth <= TARGET_RSS_GROWTH)}"
        )
    return "\n".join(lines) + "\n"


def _cap_lines(r: ScaleResult) -> list[str]:
    """The memory cap's targets at one scale: capped / uncapped wall time of silver and gold, and the peak RSS
    of every capped pipeline stage."""
    capped = [s for s in r.stages if s.stage.startswith(CAPPED_STAGES)]
    if not any(s.stage.startswith(("s ", "g ")) for s in capped):
        return []
    lines = [f"{r.students:,} students, memory cap (DWH_MEMORY_LIMIT={DEFAULT_MEMORY_LIMIT} vs none):"]
    for prefix, name in (("s", "silver"), ("g", "gold")):
        ratio = _ratio(r.stage(prefix + " "), r.stage(prefix + "'"))
        shown = "failed" if ratio is None else f"{ratio:.2f}"
        lines.append(
            f"  {prefix}/{prefix}'  {name + ' capped / uncapped':<26}{shown:>8}   "
            f"target <= {TARGET_CAP_SLOWDOWN:.2f}   {_verdict(ratio is not None and ratio <= TARGET_CAP_SLOWDOWN)}"
        )
    peak = max(s.measurement.peak_rss_mb for s in capped)
    names = ", ".join(s.stage.split()[0] for s in capped)
    lines.append(
        f"  peak RSS of every capped stage ({names}) {peak:>8,.0f} MB  target <= {TARGET_CAPPED_RSS_MB:,} MB  "
        f"{_verdict(all(s.ok for s in capped) and peak <= TARGET_CAPPED_RSS_MB)}"
    )
    return lines


def _as_json(results: list[ScaleResult]) -> list[dict]:
    out = []
    for r in results:
        out.append(
            {
                "students": r.students,
                "db_mb": r.db_mb,
                "deltas": [{"source": d.source, "changes": d.changes, "table_rows": d.table_rows} for d in r.deltas],
                "stages": [
                    {
                        "stage": s.stage,
                        "rows": s.rows,
                        "wall_s": s.measurement.wall_s,
                        "peak_rss_mb": s.measurement.peak_rss_mb,
                        "tree_rss_mb": s.measurement.tree_rss_mb,
                        "returncode": s.measurement.returncode,
                        "problem": s.problem,
                        "detail": s.detail,
                    }
                    for s in r.stages
                ],
            }
        )
    return out


def _clean(work: Path) -> None:
    """Remove the big files of a scale (warehouse, dlt state, CSV); keep the logs."""
    for path in work.iterdir():
        if path.suffix in (".log", ".json", ".out"):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _prefix(students: int, profile: str) -> str:
    return f"bench{students}_" if profile == "realistic" else f"bench{students}_{profile}_"


def _drop(admin_url: str, students: int, until: dt.date, profile: str) -> None:
    for _, db in database_names(GeneratorConfig(students=students, until=until), _prefix(students, profile)):
        devdb.drop_database(admin_url, db)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.bench", description=__doc__)
    parser.add_argument(
        "--students",
        type=int,
        nargs="+",
        default=[100_000],
        help="scales to measure, e.g. 25000 100000 400000 (default 100000)",
    )
    parser.add_argument("--admin-url", default=None, help="PostgreSQL superuser URL (default: embedded dev server)")
    parser.add_argument(
        "--only",
        choices=("generate", "bronze"),
        default=None,
        help="generate: only the generation stage; bronze: only the bronze stages (reusing the "
        "databases a --keep run left, else generating them)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated databases and the work directory (warehouse, logs)"
    )
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=dt.date.today(),
        help="generator snapshot date (default today, so the nightly rows are dated just after it)",
    )
    parser.add_argument(
        "--delta",
        type=float,
        default=DEFAULT_DELTA,
        help="share of new and changed rows before the incremental run (default 0.005)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where warehouses, CSV files and logs go (default: a new directory under $TMPDIR)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="realistic",
        help="synthetic profile (default realistic: the shapes of real Guaraní data; simple: none)",
    )
    parser.add_argument(
        "--ml", action="store_true", help="after gold, train each model (tree, TFT) alone and measure it"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument(
        "--stage-timeout",
        type=float,
        default=7200.0,
        help="stop a stage that runs longer than this many seconds and report it (default 7200)",
    )
    args = parser.parse_args(argv)
    setup_logging()
    admin_url = args.admin_url or devdb.start(devdb.default_data_dir())
    work_root = args.work_dir or Path(tempfile.mkdtemp(prefix="dwh-bench-"))
    work_root.mkdir(parents=True, exist_ok=True)
    log.info("work directory %s", work_root)
    results = []
    try:
        for n in sorted(args.students):
            results.append(
                bench_scale(
                    admin_url,
                    n,
                    args.until,
                    args.only,
                    args.delta,
                    work_root,
                    args.stage_timeout,
                    args.profile,
                    args.ml,
                )
            )
            if not args.keep:
                _drop(admin_url, n, args.until, args.profile)
                _clean(work_root / f"s{n}")
    finally:
        if args.json:
            args.json.write_text(json.dumps(_as_json(results), indent=1, default=str), encoding="utf-8")
    sys.stdout.write(report(results))
    sys.stdout.write(f"logs: {work_root}\n")
    failed = [s for r in results for s in r.stages if not s.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
