"""Crash safety: `kill -9` at any step of `python -m dwh.main`, then a normal run, gives the clean result.

One small synthetic university (two Guaraní sources and Moodle) is built twice, uninterrupted, with a
fixed hash salt: the reference (as of UNTIL) and an earlier night (as of PREVIOUS_AS_OF, same sources).
Each kill point starts from an empty warehouse (the first night) or from a copy of the earlier night's
warehouse, its dlt state and its published copy (any later night), runs `python -m dwh.main` as of
UNTIL, reads its stderr line by line and sends SIGKILL once the step's log line appears (and, for the
load and publish steps, once the step is visibly under way on disk: a load package with some jobs
committed and some not, the temporary publish copy). Checks:

- the kill landed inside the intended step: exit status -9, the trigger line seen, the step's closing
  line not written;
- right after the kill, what readers see is intact: silver and gold of the working warehouse are still
  the earlier night's until the killed run committed them (one transaction per layer), and the
  published copy opens and is the earlier night's (or, after the rename, the new one);
- a normal run afterwards exits 0 and leaves exactly the reference: every bronze table (all columns
  but dlt's _dlt_load_id/_dlt_id: same row count, same multiset of rows, so nothing duplicated or
  lost), every silver and gold table and view (all columns), and the published copy; no dlt package
  is left pending, no temporary publish file.

Further tests: runs killed again while aborting what a kill left (the package flagged for abort;
archived as aborted before dlt rewound its state); a load package failing terminally (a constraint
dlt does not know of) is aborted, the other sources load, the next run is the reference; a read-only
temporary publish copy left by a kill does not block later publishing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from bronze_support import write_config

from dwh.pipelines.bronze_ingest import PIPELINE_NAME
from dwh.settings import dlt_state_dir

log = logging.getLogger(__name__)

UNTIL = dt.date(2025, 11, 27)
PREVIOUS_AS_OF = dt.date(2025, 7, 31)  # "an earlier night": same sources, other silver and gold
SALT = "kill-test-salt"
GENERATOR = dict(students=1000, sources=2, years=5, seed=17, until=UNTIL)
WAREHOUSE = "warehouse.duckdb"
LAYERS = ("bronze", "silver", "gold")
# Bookkeeping that differs between runs by design: dlt's system tables and our bronze load log (the
# run log and layer runs live in schema dwh_meta, which is not compared).
BRONZE_SKIPPED_TABLES = re.compile(r"^_dlt_|^_dwh_load_log$|^_dwh_reconcile_log$")
BRONZE_SKIPPED_COLUMNS = ("_dlt_load_id", "_dlt_id")
RUN_TIMEOUT = 300
ABORTING = r"left load packages pending: aborting them"  # bronze found what a killed run left
# Doubles are compared to 9 decimals: DuckDB's parallel inserts (dlt's loads included) do not keep row
# order, and float sums and standard deviations depend on it in the last bit (gold's desviacion_notas
# differs by 1e-16 in a few hundred rows between two builds of the same bronze rows). Rows lost or
# duplicated by a crash change counts, keys and sums far beyond that.
FLOATS = ("DOUBLE", "FLOAT", "REAL")
DOUBLE_DECIMALS = 9


# -- running the pipeline ------------------------------------------------------------------------------------
def _env(config: Path, warehouse: Path, as_of: dt.date) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(warehouse), DWH_AS_OF=as_of.isoformat(), DWH_HASH_SALT=SALT)
    return env


def _run(config: Path, warehouse: Path, as_of: dt.date = UNTIL) -> subprocess.CompletedProcess:
    """One normal `python -m dwh.main` run, as cron starts it."""
    return subprocess.run(
        [sys.executable, "-m", "dwh.main"],
        env=_env(config, warehouse, as_of),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@dataclass
class Killed:
    returncode: int
    stderr: str
    triggered: bool  # the trigger line was seen and SIGKILL sent
    condition_met: bool | None  # the on-disk condition awaited before the kill (None: none awaited)


def _poll(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 20.0) -> bool:
    """Check `condition` as fast as possible until it holds, the process ends, or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if condition():
                return True
        except (OSError, ValueError):  # a file moved or rewritten while we looked
            pass
        time.sleep(0)
    return False


def _run_and_kill(
    config: Path,
    warehouse: Path,
    trigger: str,
    nth: int = 1,
    condition: Callable[[], bool] | None = None,
) -> Killed:
    """Start `python -m dwh.main` and SIGKILL it right after the nth stderr line matching `trigger`
    (and, when given, once `condition` holds); returns the exit status and everything it logged."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dwh.main"],
        env=_env(config, warehouse, UNTIL),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(RUN_TIMEOUT, proc.kill)  # a hung run must not hang the test session
    watchdog.start()
    lines: list[str] = []
    seen, triggered, condition_met = 0, False, None
    try:
        for line in proc.stderr:
            lines.append(line)
            if re.search(trigger, line):
                seen += 1
                if seen == nth:
                    if condition is not None:
                        condition_met = _poll(condition, proc)
                    os.kill(proc.pid, signal.SIGKILL)
                    triggered = True
                    break
        lines.extend(proc.stderr)  # what it wrote before it died
        returncode = proc.wait(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return Killed(returncode, "".join(lines), triggered, condition_met)


# -- the dlt working directory and the published copy ----------------------------------------------------------
def _packages(warehouse: Path, stage: str) -> list[Path]:
    """dlt's load packages of the bronze pipeline in one stage: 'extracted' (to normalize) or 'normalized'
    (to load)."""
    root = dlt_state_dir(warehouse) / PIPELINE_NAME
    folder = root / ("normalize/extracted" if stage == "extracted" else "load/normalized")
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _load_partly_done(warehouse: Path) -> bool:
    """A package is being loaded with at least a third of its jobs committed and some still to run."""
    for package in _packages(warehouse, "normalized"):
        done = len(os.listdir(package / "completed_jobs"))
        waiting = len(os.listdir(package / "new_jobs"))
        total = done + waiting + len(os.listdir(package / "started_jobs"))
        if done >= max(2, total // 3) and waiting:
            return True
    return False


def _published(warehouse: Path) -> Path:
    return warehouse.parent / "published" / warehouse.name


def _publish_temp(warehouse: Path) -> Path:
    target = _published(warehouse)
    return target.with_name(f".{target.name}.publishing")


# -- comparing warehouses ----------------------------------------------------------------------------------------
def _relations(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str]]]:
    """{table or view: compared (column, type)} of one schema."""
    rows = con.execute(
        "SELECT t.table_name, c.column_name, c.data_type FROM information_schema.tables t "
        "JOIN information_schema.columns c USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_schema = ? AND t.table_catalog = current_database() ORDER BY t.table_name, c.ordinal_position",
        [schema],
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        if schema == "bronze" and (BRONZE_SKIPPED_TABLES.search(table) or column in BRONZE_SKIPPED_COLUMNS):
            continue
        out.setdefault(table, []).append((column, data_type))
    return out


def _select(schema: str, table: str, columns: list[tuple[str, str]]) -> str:
    """The compared columns; doubles rounded to DOUBLE_DECIMALS (see the note on DOUBLE_DECIMALS)."""
    exprs = []
    for column, data_type in columns:
        quoted = '"' + column.replace('"', '""') + '"'
        exprs.append(f"round({quoted}, {DOUBLE_DECIMALS}) AS {quoted}" if data_type in FLOATS else quoted)
    return f'SELECT {", ".join(exprs)} FROM {schema}."{table}"'


def fingerprints(warehouse: Path, layers: tuple[str, ...] = LAYERS) -> dict[str, tuple]:
    """{schema.table: (columns, rows, order-independent checksum)}: equal fingerprints = equal multisets."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for schema in layers:
            for table, columns in _relations(con, schema).items():
                hashed = ", ".join(f"t{i}" for i in range(len(columns)))
                rows, checksum = con.execute(
                    f"SELECT count(*), coalesce(sum(hash({hashed})::HUGEINT), 0) "
                    f"FROM ({_select(schema, table, columns)}) AS t({hashed})"
                ).fetchone()
                out[f"{schema}.{table}"] = (tuple(columns), rows, int(checksum))
    return out


def _row_differences(actual: Path, expected: Path, name: str, columns: tuple[tuple[str, str], ...]) -> str:
    """Rows only in one of two warehouses' version of a table (EXCEPT ALL both ways), a few of each."""
    schema, table = name.split(".", 1)
    tables = {}
    for label, path in (("actual", actual), ("expected", expected)):
        with duckdb.connect(str(path), read_only=True) as con:
            tables[label] = con.sql(_select(schema, table, list(columns))).to_arrow_table()
    con = duckdb.connect()
    con.register("actual", tables["actual"])
    con.register("expected", tables["expected"])
    parts = []
    for one, other in (("actual", "expected"), ("expected", "actual")):
        only = con.sql(f"SELECT * FROM {one} EXCEPT ALL SELECT * FROM {other}").fetchall()
        parts.append(f"{len(only)} rows only in the {one} warehouse, e.g. {only[:2]}")
    con.close()
    return "; ".join(parts)


def assert_same(actual: Path, expected: Path, what: str, layers: tuple[str, ...] = LAYERS) -> None:
    """Every compared table of `layers` has the same columns and the same multiset of rows."""
    got, want = fingerprints(actual, layers), fingerprints(expected, layers)
    problems = [f"missing: {sorted(set(want) - set(got))}"] if set(want) - set(got) else []
    problems += [f"unexpected: {sorted(set(got) - set(want))}"] if set(got) - set(want) else []
    for name in sorted(set(got) & set(want)):
        (cols_got, rows_got, sum_got), (cols_want, rows_want, sum_want) = got[name], want[name]
        if cols_got != cols_want:
            problems.append(f"{name}: columns {cols_got} != {cols_want}")
        elif (rows_got, sum_got) != (rows_want, sum_want):
            detail = _row_differences(actual, expected, name, cols_got)
            problems.append(f"{name}: {rows_got} rows, expected {rows_want}: {detail}")
    assert not problems, f"{what} differs from the clean run in {len(problems)} tables:\n" + "\n".join(problems)


# -- the builds ----------------------------------------------------------------------------------------------------
@dataclass
class Builds:
    config: Path
    reference: Path  # an uninterrupted run as of UNTIL
    previous: Path  # an uninterrupted run as of PREVIOUS_AS_OF: the state every "later night" starts from


@pytest.fixture(scope="module")
def builds(make_synthetic, tmp_path_factory) -> Builds:
    started = time.perf_counter()
    urls = make_synthetic(**GENERATOR)
    base = tmp_path_factory.mktemp("kill")
    config = write_config(
        base / "config.py", {name: (url, "moodle" if name == "moodle" else "guarani") for name, url in urls.items()}
    )
    nights = {"reference": UNTIL, "previous": PREVIOUS_AS_OF}
    for name in nights:
        (base / name).mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {name: pool.submit(_run, config, base / name / WAREHOUSE, as_of) for name, as_of in nights.items()}
        for name, future in runs.items():
            proc = future.result()
            assert proc.returncode == 0, f"the {name} run failed:\n{proc.stderr[-4000:]}"
    out = Builds(config, base / "reference" / WAREHOUSE, base / "previous" / WAREHOUSE)
    # the earlier night's silver and gold really differ, so "unchanged after a kill" means something
    ref, prev = fingerprints(out.reference, ("silver", "gold")), fingerprints(out.previous, ("silver", "gold"))
    changed = sorted(k for k in ref if ref[k] != prev.get(k))
    log.info("tables that differ between the two nights: %s", ", ".join(changed))
    assert {k.split(".")[0] for k in changed} == {"silver", "gold"}, changed
    log.info("sources and the two clean runs in %.1fs", time.perf_counter() - started)
    return out


def _start_from_previous(builds: Builds, directory: Path) -> Path:
    """A copy of the earlier night: warehouse file, dlt state directory, published copy, lock file."""
    source_dir = builds.previous.parent
    for entry in source_dir.iterdir():
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, directory / entry.name)
    return directory / WAREHOUSE


# -- kill points ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KillPoint:
    trigger: str  # regex of the stderr line after which the run is killed
    unfinished: str  # regex of the line that closes the step: it must not have been written
    nth: int = 1
    previous: bool = False  # start from the earlier night's warehouse, else from nothing
    rebuilt: tuple[str, ...] = ()  # layers the killed run had already committed anew when it died
    wait_for: str | None = None  # 'load' (a package partly loaded) or 'publish' (the temporary copy exists)


KILL_POINTS = {
    # the first night: an empty warehouse
    "extract_first_source": KillPoint(r"source guarani_a: extracting", r"source guarani_a: extracted"),
    "extract_second_source": KillPoint(r"source guarani_b: extracting", r"source guarani_b: extracted"),
    # first loads append: rows of committed jobs are in bronze while the package is unfinished
    "load_partly_committed": KillPoint(
        r"source guarani_a: extracted .*; loading", r"source guarani_a: loaded in", wait_for="load"
    ),
    # a later night: incremental merges and per-source replaces, over existing rows and state
    "incremental_load_partly_committed": KillPoint(
        r"source guarani_b: extracted .*; loading", r"source guarani_b: loaded in", previous=True, wait_for="load"
    ),
    "silver": KillPoint(r"dwh\.sql: silver\.", r"silver built", nth=5, previous=True),
    "gold": KillPoint(r"dwh\.sql: gold\.", r"gold built", nth=3, previous=True, rebuilt=("silver",)),
    # killed once the temporary copy exists: during the copy, its fsync or chmod, or just after the rename
    "publish": KillPoint(
        r"dwh\.publish: publishing", r"run \w+ finished", previous=True, rebuilt=("silver", "gold"), wait_for="publish"
    ),
}


@pytest.mark.parametrize("point", list(KILL_POINTS), ids=str)
def test_kill_then_rerun_gives_the_clean_result(builds: Builds, tmp_path: Path, point: str) -> None:
    kill = KILL_POINTS[point]
    warehouse = _start_from_previous(builds, tmp_path) if kill.previous else tmp_path / WAREHOUSE
    previous_published = fingerprints(_published(warehouse)) if kill.previous else None
    condition = {
        None: None,
        "load": lambda: _load_partly_done(warehouse),
        "publish": lambda: _publish_temp(warehouse).exists(),
    }[kill.wait_for]

    killed = _run_and_kill(builds.config, warehouse, kill.trigger, kill.nth, condition)
    last_line = killed.stderr.strip().splitlines()[-1] if killed.stderr.strip() else ""
    log.info("%s: killed after: %s (condition met: %s)", point, last_line, killed.condition_met)
    assert killed.triggered and killed.returncode == -signal.SIGKILL, (
        f"the run was not killed at {point} (exit {killed.returncode}):\n{killed.stderr[-3000:]}"
    )
    if kill.wait_for == "load":
        assert killed.condition_met, f"no package was seen partly loaded:\n{killed.stderr[-3000:]}"
    if kill.wait_for != "publish":  # a kill on the publish step may land after its last line: still valid
        assert not re.search(kill.unfinished, killed.stderr), (
            f"the kill landed after the {point} step ended:\n{killed.stderr[-3000:]}"
        )

    # what readers see right after the crash
    if kill.previous:
        # a later night that started from a clean state did not take it for an interrupted one
        assert "ahead of the state the warehouse committed" not in killed.stderr, killed.stderr[-3000:]
        for layer in ("silver", "gold"):
            # a layer is one transaction: the earlier night's until the killed run committed it
            expected = builds.reference if layer in kill.rebuilt else builds.previous
            assert_same(warehouse, expected, f"{layer} right after a kill at {point}", (layer,))
        published = fingerprints(_published(warehouse))  # opens: not torn
        renamed = published != previous_published
        if renamed:
            assert point == "publish", f"the published copy changed after a kill at {point}"
            assert_same(_published(warehouse), _published(builds.reference), "the new published copy")
        log.info("%s: published copy after the kill: %s", point, "the new one" if renamed else "the previous one")

    recovery = _run(builds.config, warehouse)
    assert recovery.returncode == 0, f"the run after a kill at {point} failed:\n{recovery.stderr[-4000:]}"
    assert _published(warehouse).stat().st_mode & 0o222 == 0, "the published copy is not read-only"
    assert_same(warehouse, builds.reference, f"the warehouse after a kill at {point} and a normal run")
    assert_same(_published(warehouse), _published(builds.reference), f"the published copy after a kill at {point}")
    assert not _packages(warehouse, "extracted") and not _packages(warehouse, "normalized"), "dlt packages left"
    assert not _publish_temp(warehouse).exists(), "a temporary publish file was left behind"


def _abort_requested(warehouse: Path) -> bool:
    """A pending package is flagged for abort (dlt's abort has begun and not finished)."""
    for package in _packages(warehouse, "normalized"):
        state = json.loads((package / "load_package_state.json").read_text(encoding="utf-8"))
        if state.get("abort_requested"):
            return True
    return False


def test_kills_during_the_abort_of_an_interrupted_load(builds: Builds, tmp_path: Path) -> None:
    """The runs after a kill are killed in turn while aborting the package it left: once with the
    package flagged for abort, once right after dlt archived it as aborted (before or while dlt rewinds
    the local state). The next normal run must still give the clean result."""
    warehouse = tmp_path / WAREHOUSE
    loading = KILL_POINTS["load_partly_committed"].trigger
    first = _run_and_kill(builds.config, warehouse, loading, condition=lambda: _load_partly_done(warehouse))
    assert first.returncode == -signal.SIGKILL and first.condition_met, first.stderr[-3000:]
    for moment, condition in (
        ("flagged for abort", lambda: _abort_requested(warehouse)),
        ("archived as aborted", lambda: not _packages(warehouse, "normalized")),
    ):
        killed = _run_and_kill(builds.config, warehouse, ABORTING, condition=condition)
        assert killed.triggered and killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert killed.condition_met, f"the package was not seen {moment}:\n{killed.stderr[-3000:]}"
        assert not re.search(r"source guarani_a: extracting", killed.stderr), "the kill landed after the abort"

    recovery = _run(builds.config, warehouse)
    assert recovery.returncode == 0, f"the run after kills during an abort failed:\n{recovery.stderr[-4000:]}"
    assert_same(warehouse, builds.reference, "the warehouse after kills during an abort and a normal run")
    assert_same(_published(warehouse), _published(builds.reference), "the published copy after kills during an abort")
    assert not _packages(warehouse, "extracted") and not _packages(warehouse, "normalized"), "dlt packages left"


def test_a_terminally_failed_package_is_aborted_and_blocks_nothing(builds: Builds, tmp_path: Path) -> None:
    """A load job that cannot succeed aborts its package: the source fails with its state not advanced,
    the next sources load in the same run, and once the cause is gone the next run is the clean result.

    The job is made to fail for good behind dlt's back: bronze.course_inscriptions (this later night reads the
    inscriptions dated since the earlier night's as-of date, for both Guaraní sources; tables read by row
    versions get no rows when nothing changed) gets a NOT NULL column without a default that dlt does not know
    of, so inserting the source's rows violates it (a DuckDB ConstraintException, which dlt treats as
    terminal)."""
    warehouse = _start_from_previous(builds, tmp_path)
    previous_published = fingerprints(_published(warehouse))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER TABLE bronze.course_inscriptions ADD COLUMN blocker INTEGER DEFAULT 0")
        con.execute("ALTER TABLE bronze.course_inscriptions ALTER COLUMN blocker SET NOT NULL")
        con.execute("ALTER TABLE bronze.course_inscriptions ALTER COLUMN blocker DROP DEFAULT")

    failed = _run(builds.config, warehouse)
    assert failed.returncode == 1, failed.stderr[-4000:]
    for source in ("guarani_a", "guarani_b"):
        assert re.search(rf"source {source} failed, its state was not advanced: .*NOT NULL", failed.stderr), (
            failed.stderr[-4000:]
        )
    assert "source moodle: loaded in" in failed.stderr, f"a failed package blocked the next source:\n{failed.stderr}"
    assert not _packages(warehouse, "extracted") and not _packages(warehouse, "normalized"), "dlt packages left"
    assert fingerprints(_published(warehouse)) == previous_published, "a failed run changed the published copy"

    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER TABLE bronze.course_inscriptions ALTER COLUMN blocker DROP NOT NULL")
        con.execute("ALTER TABLE bronze.course_inscriptions DROP COLUMN blocker")
    recovery = _run(builds.config, warehouse)
    assert recovery.returncode == 0, f"the run after a failed package failed:\n{recovery.stderr[-4000:]}"
    assert "left load packages pending" not in recovery.stderr, "the failed package was still pending"
    assert_same(warehouse, builds.reference, "the warehouse after a failed package and a normal run")
    assert_same(_published(warehouse), _published(builds.reference), "the published copy after a failed package")


def test_a_read_only_temporary_copy_left_by_a_kill_does_not_block_publishing(builds: Builds, tmp_path: Path) -> None:
    """A kill between publish's chmod and its rename leaves a read-only temporary copy; the next publish
    must not try to write into it (permission denied for any owner but root, on every later night)."""
    from dwh.ops.publish import publish

    os.environ.pop("DWH_PUBLISHED_PATH", None)
    warehouse = tmp_path / WAREHOUSE
    shutil.copy2(builds.reference, warehouse)
    stale = _publish_temp(warehouse)
    stale.parent.mkdir()
    stale.write_bytes(b"half a copy")
    stale.chmod(0o444)
    # a second name for the stale file: root ignores the mode, so whether the file was written into is
    # told by its content, not by an error
    os.link(stale, tmp_path / "stale")

    publish(warehouse)
    assert (tmp_path / "stale").read_bytes() == b"half a copy", "publish wrote into the read-only temporary copy"
    assert not stale.exists()
    assert_same(_published(warehouse), _published(builds.reference), "the published copy")
