"""The nightly command's operations on real sources and files: lock, publish, run log, freshness, status,
--layer, --select, --full-refresh, --source and --dry-run."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from bronze_support import wh, wh_scalar, write_config

AS_OF = "2025-11-27"
KINDS = {"moodle": "moodle"}


def run_main(workdir: Path, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """`python -m dwh.main` as cron runs it, with the warehouse and config in workdir."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    full.update(
        DWH_CONFIG=str(workdir / "config.py"),
        DWH_DUCKDB_PATH=str(workdir / "warehouse.duckdb"),
        DWH_AS_OF=AS_OF,
        DWH_HASH_SALT="ops-salt",
    )
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "dwh.main", *args], env=full, capture_output=True, text=True, timeout=timeout
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sources(make_synthetic) -> dict[str, str]:
    return make_synthetic(students=600, sources=2, years=4, seed=11, moodle_years=2)


@pytest.fixture(scope="module")
def template(tmp_path_factory, sources) -> Path:
    """One successful run: working warehouse, dlt state and published copy."""
    workdir = tmp_path_factory.mktemp("ops_template")
    write_config(workdir / "config.py", {n: (u, KINDS.get(n, "guarani")) for n, u in sources.items()})
    done = run_main(workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir


@pytest.fixture
def workdir(template, tmp_path) -> Path:
    """A private copy of the template run."""
    target = tmp_path / "run"
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


def test_a_successful_run_publishes_a_read_only_copy_and_logs_every_step(template):
    published = template / "published" / "warehouse.duckdb"
    assert oct(published.stat().st_mode & 0o777) == "0o444"
    gold = wh(published, "SELECT count(*) FROM gold.gold_tft_training_dataset")[0][0]
    assert gold > 0
    steps = dict(
        wh(
            template / "warehouse.duckdb",
            "SELECT step, count(*) FROM dwh_meta.run_log GROUP BY step",
        )
    )
    assert {"bronze", "silver", "gold", "freshness", "run", "publish"} <= set(steps)
    # one row per (source, table) loaded, plus one per source with its seconds
    bronze_rows = wh_scalar(
        template / "warehouse.duckdb",
        "SELECT count(*) FROM dwh_meta.run_log WHERE step = 'bronze' AND table_name IS NOT NULL",
    )
    loaded = wh_scalar(template / "warehouse.duckdb", "SELECT count(*) FROM bronze._dwh_load_log")
    assert bronze_rows == loaded
    run = wh(template / "warehouse.duckdb", "SELECT status, seconds FROM dwh_meta.run_log WHERE step = 'run'")
    assert run[0][0] == "ok" and run[0][1] > 0


def test_a_second_run_while_one_holds_the_lock_exits_at_once_naming_the_holder(workdir):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from dwh.ops.lock import warehouse_lock\n"
            f"with warehouse_lock(Path({str(workdir / 'warehouse.duckdb')!r}), 'nightly test run'):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        done = run_main(workdir)
        assert time.monotonic() - t0 < 20
        assert done.returncode == 1
        assert f"pid {holder.pid}" in done.stderr and "nightly test run" in done.stderr and "since" in done.stderr
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the lock with the process: the next run goes ahead
    assert run_main(workdir, "--layer", "gold").returncode == 0


def test_status_prints_runs_freshness_and_data_tests_without_opening_the_working_file(workdir):
    # a process holding the working file would make status fail if status opened it
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(workdir / 'warehouse.duckdb')!r}); "
            "print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        done = run_main(workdir, "status")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "last runs:" in out and " ok " in out
    assert "silver:" in out and "gold:" in out and "tests" in out
    for source in ("guarani_a", "guarani_b", "moodle"):
        assert f"{source}: newest data" in out


def test_a_stale_source_fails_the_run_after_publishing_fresh_data(workdir, sources):
    lines = (workdir / "config.py").read_text().replace("'kind': 'moodle'}", "'kind': 'moodle', 'max_age_days': 30}")
    (workdir / "config.py").write_text(lines)
    published = workdir / "published" / "warehouse.duckdb"
    done = run_main(workdir, "--layer", "gold")
    assert done.returncode == 1
    assert "moodle: newest data" in done.stderr and "STALE" in done.stderr and "stale sources: moodle" in done.stderr
    stale = wh(
        workdir / "warehouse.duckdb", "SELECT status FROM dwh_meta.run_log WHERE step = 'run' ORDER BY started_at"
    )
    assert stale[-1] == ("stale",)
    assert published.exists()
    status = run_main(workdir, "status").stdout
    assert " stale " in status and "freshness moodle: moodle: newest data" in status


def test_layer_and_select_limit_what_runs(workdir):
    before = wh_scalar(workdir / "warehouse.duckdb", "SELECT count(*) FROM dwh_meta.run_log WHERE step = 'bronze'")
    done = run_main(workdir, "--select", "dim_student,mart_cohort_analysis")
    assert done.returncode == 0, done.stderr[-2000:]
    last = wh(
        workdir / "warehouse.duckdb",
        "SELECT step, table_name FROM dwh_meta.run_log WHERE run_id = (SELECT run_id FROM dwh_meta.run_log "
        "WHERE step = 'run' ORDER BY started_at DESC LIMIT 1) AND step IN ('bronze', 'silver', 'gold')",
    )
    assert sorted(last) == [("gold", "gold.mart_cohort_analysis"), ("silver", "silver.dim_student")]
    after = wh_scalar(workdir / "warehouse.duckdb", "SELECT count(*) FROM dwh_meta.run_log WHERE step = 'bronze'")
    assert after == before  # no bronze step ran


def test_full_refresh_of_one_table_and_source_replaces_its_rows_without_duplicates(workdir):
    wh_path = workdir / "warehouse.duckdb"
    count = "SELECT source_db, count(*), count(DISTINCT inscripcion_id) FROM bronze.course_inscriptions GROUP BY 1"
    before = dict((s, (n, d)) for s, n, d in wh(wh_path, count))
    load_ids = dict(wh(wh_path, "SELECT source_db, max(_dlt_load_id) FROM bronze.course_inscriptions GROUP BY 1"))
    done = run_main(workdir, "--select", "course_inscriptions", "--full-refresh", "--source", "guarani_a")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "guarani_a.course_inscriptions: full refresh" in done.stderr
    after = dict((s, (n, d)) for s, n, d in wh(wh_path, count))
    assert after == before
    assert all(n == d for n, d in after.values())
    rows_a = wh(
        wh_path,
        "SELECT count(*) FROM bronze.course_inscriptions WHERE source_db = 'guarani_a' AND _dlt_load_id = ?",
        [wh_scalar(wh_path, "SELECT max(_dlt_load_id) FROM bronze.course_inscriptions WHERE source_db = 'guarani_a'")],
    )[0][0]
    assert rows_a == before["guarani_a"][0]  # every row of guarani_a came from the refresh load
    new_b = wh_scalar(wh_path, "SELECT max(_dlt_load_id) FROM bronze.course_inscriptions WHERE source_db = 'guarani_b'")
    assert new_b == load_ids["guarani_b"]  # the other source was not touched


def test_dry_run_explains_everything_and_writes_nothing(workdir):
    wh_path = workdir / "warehouse.duckdb"
    digest = sha256(wh_path)
    published = sha256(workdir / "published" / "warehouse.duckdb")
    done = run_main(workdir, "--dry-run")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "students__guarani_a: snapshot" in out and "course_inscriptions__guarani_b: incremental" in out
    assert "moodle_engagement__moodle" in out
    assert "11_dim_student.sql -> silver.dim_student: 1 statements, ok" in out
    assert "15_gold_tft_training_dataset.sql -> gold.gold_tft_training_dataset" in out
    positions = [out.index(name) for name in ("01_dim_fecha.sql", "11_dim_student.sql", "27_fact_lms_activity.sql")]
    assert positions == sorted(positions)
    assert sha256(wh_path) == digest and sha256(workdir / "published" / "warehouse.duckdb") == published


def test_help_documents_every_option_and_environment_variable():
    done = subprocess.run([sys.executable, "-m", "dwh.main", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for item in (
        "--layer",
        "--select",
        "--full-refresh",
        "--source",
        "--dry-run",
        "status",
        "DWH_CONFIG",
        "DWH_DUCKDB_PATH",
        "DWH_PUBLISHED_PATH",
        "DWH_AS_OF",
        "DWH_BRONZE_RESOURCES",
        "DWH_INCREMENTAL_START_DATE",
        "DLT__EXTRACT__WORKERS",
        "DWH_SEEDS_DIR",
        "DWH_HASH_SALT",
        "DWH_TIMEZONE",
        "exit status",
    ):
        assert item in done.stdout, item


def test_a_reader_keeps_its_published_copy_open_while_a_run_publishes(workdir):
    published = workdir / "published" / "warehouse.duckdb"
    reader = duckdb.connect(str(published), read_only=True)
    try:
        before = reader.execute("SELECT count(*) FROM gold.mart_cohort_analysis").fetchone()
        done = run_main(workdir, "--layer", "gold")
        assert done.returncode == 0, done.stderr[-2000:]
        # the open reader still reads its (old) file; a new reader gets the new copy
        assert reader.execute("SELECT count(*) FROM gold.mart_cohort_analysis").fetchone() == before
    finally:
        reader.close()
    assert wh(published, "SELECT count(*) FROM gold.mart_cohort_analysis")[0] == before


def test_a_full_refresh_killed_after_deleting_rows_is_finished_by_the_next_plain_run(workdir):
    """The rows are gone and dlt would restore the old cursor: the pending mark makes the next run reload."""
    wh_path = workdir / "warehouse.duckdb"
    count = "SELECT count(*) FROM bronze.course_inscriptions WHERE source_db = 'guarani_a'"
    before = wh_scalar(wh_path, count)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(
        DWH_CONFIG=str(workdir / "config.py"), DWH_DUCKDB_PATH=str(wh_path), DWH_AS_OF=AS_OF, DWH_HASH_SALT="ops-salt"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dwh.main",
            "--select",
            "course_inscriptions",
            "--full-refresh",
            "--source",
            "guarani_a",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = False
    for line in proc.stderr:
        if "source guarani_a: extracting" in line:
            seen = True
            proc.kill()
            break
    proc.wait()
    assert seen and proc.returncode == -9
    assert wh_scalar(wh_path, count) == 0  # the refresh had deleted the source's rows
    pending = wh(wh_path, "SELECT source_db, table_name FROM bronze._dwh_full_reload_pending")
    assert pending == [("guarani_a", "course_inscriptions")]
    done = run_main(workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "an interrupted full reload is finished" in done.stderr
    assert wh_scalar(wh_path, count) == before
    assert wh(wh_path, "SELECT count(*) FROM bronze._dwh_full_reload_pending") == [(0,)]


@pytest.mark.parametrize("layer", ["silver", "gold"])
def test_a_layer_out_of_memory_names_its_stage_and_the_limit_and_publishes_nothing(workdir, layer):
    published, working = workdir / "published" / "warehouse.duckdb", workdir / "warehouse.duckdb"
    before = sha256(published)
    rows = wh(working, f"SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = '{layer}'")
    done = run_main(workdir, "--layer", layer, DWH_MEMORY_LIMIT="20MB")
    assert done.returncode == 1, done.stderr[-2000:]
    assert (
        f"stage {layer} ran out of memory under DWH_MEMORY_LIMIT=20MB: raise it (for example DWH_MEMORY_LIMIT=40MB) "
        "or free memory" in done.stderr
    )
    assert "Out of Memory Error" in done.stderr and "is unchanged" in done.stderr
    assert sha256(published) == before
    after = wh(working, f"SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = '{layer}'")
    assert sorted(after) == sorted(rows)
    assert not (workdir / "warehouse.duckdb.tmp").exists()
    failed = wh_scalar(
        working, "SELECT status FROM dwh_meta.layer_runs WHERE layer = ? ORDER BY started_at DESC LIMIT 1", [layer]
    )
    assert failed == "failed"
