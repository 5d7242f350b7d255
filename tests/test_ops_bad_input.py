"""Bad input through the real CLI: every case exits non-zero with its cause on stderr and no password.

One good run builds and publishes a warehouse from small synthetic sources (module fixture); each test
copies the working file, its `<name>.dlt` state and `published/` into its own directory, breaks one
thing and runs `python -m dwh.main` there (in-process only for the broken SQL directory, which has no
environment override). Unless the case is the corrupt-warehouse recovery, the published copy must keep
its bytes and still open read-only with every gold table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from bronze_support import write_config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dwh.devdb.databases import render_url

AS_OF = "2025-11-27"
SALT = "bad-input-salt"
PASSWORD = "S3cretPw"
TRACEBACK = "Traceback (most recent call last)"
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_RECOVERED = 1, 2, 3
# Variables a test environment or an earlier in-process run may have set; never passed to a child run.
_CHILD_DROPPED = ("DWH_", "DLT__", "LOAD__", "EXTRACT__", "NORMALIZE__", "DATA_WRITER__", "RUNTIME__", "DESTINATION__")


# -- the good warehouse ---------------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(warehouse: Path, schema: str) -> dict[str, tuple]:
    """{table: (rows, sum of row hashes)} of a schema's tables; bookkeeping tables (`_dlt*`, `_dwh*`) left out.

    Floating-point columns are rounded first: DuckDB's parallel aggregates (stddev) differ in the last
    bit from one run to the next.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns: dict[str, list[str]] = {}
        for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
            "ORDER BY table_name, column_index",
            [schema],
        ).fetchall():
            if not table.startswith("_"):
                expr = f'round("{column}", 9)' if data_type in ("DOUBLE", "FLOAT") else f'"{column}"'
                columns.setdefault(table, []).append(expr)
        return {
            table: tuple(
                con.execute(f'SELECT count(*), sum(hash({", ".join(exprs)})) FROM {schema}."{table}"').fetchone()
            )
            for table, exprs in sorted(columns.items())
        }


def row_counts(warehouse: Path, schema: str) -> dict[str, int]:
    return {name: rows for name, (rows, _) in fingerprint(warehouse, schema).items()}


@dataclass(frozen=True)
class Template:
    dir: Path
    urls: dict[str, str]
    published_sha: str
    gold_tables: frozenset[str]
    bronze_counts: dict[str, int]
    silver: dict[str, tuple]
    gold: dict[str, tuple]

    @property
    def warehouse(self) -> Path:
        return self.dir / "warehouse.duckdb"


def child_env(config: Path, warehouse: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CHILD_DROPPED)}
    env.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(warehouse), DWH_AS_OF=AS_OF, DWH_HASH_SALT=SALT)
    env.update(extra)
    return env


def cli(config: Path, warehouse: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m dwh.main ARGS` as cron runs it."""
    return subprocess.run(
        [sys.executable, "-m", "dwh.main", *args],
        env=child_env(config, warehouse, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def template(make_synthetic, tmp_path_factory) -> Template:
    """A warehouse built and published by one successful run; tests work on copies of it."""
    urls = make_synthetic(students=600, sources=1, years=3, seed=11, until=dt.date.fromisoformat(AS_OF))
    base = tmp_path_factory.mktemp("bad_input_template")
    config = write_config(
        base / "config.py", {name: (url, "moodle" if name == "moodle" else "guarani") for name, url in urls.items()}
    )
    proc = cli(config, base / "warehouse.duckdb")
    assert proc.returncode == 0, proc.stderr[-4000:]
    published = base / "published" / "warehouse.duckdb"
    gold = fingerprint(published, "gold")
    assert gold, "the good run published no gold tables"
    return Template(
        dir=base,
        urls=urls,
        published_sha=sha256(published),
        gold_tables=frozenset(gold),
        bronze_counts=row_counts(base / "warehouse.duckdb", "bronze"),
        silver=fingerprint(base / "warehouse.duckdb", "silver"),
        gold=fingerprint(base / "warehouse.duckdb", "gold"),
    )


@dataclass
class Workdir:
    dir: Path
    config: Path

    @property
    def warehouse(self) -> Path:
        return self.dir / "warehouse.duckdb"

    @property
    def published(self) -> Path:
        return self.dir / "published" / "warehouse.duckdb"

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return cli(self.config, self.warehouse, *args, **env)

    def write_config(self, entries: list[dict]) -> None:
        self.config.write_text(f"SOURCE_DATABASES = {entries!r}\n", encoding="utf-8")


def copy_template(template: Template, dest: Path, with_lock_file: bool = False) -> Workdir:
    """The working file (and WAL), its dlt state, the published copy and the config, into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "config.py") + (
        ("warehouse.duckdb.lock",) if with_lock_file else ()
    ):
        if (template.dir / name).exists():
            shutil.copy2(template.dir / name, dest / name)
    shutil.copytree(template.dir / "warehouse.dlt", dest / "warehouse.dlt")
    shutil.copytree(template.dir / "published", dest / "published")
    # the template's config names its own paths nowhere, so the copy is usable as it is
    return Workdir(dest, dest / "config.py")


@pytest.fixture
def work(template, tmp_path) -> Workdir:
    return copy_template(template, tmp_path / "wh")


# -- checks ---------------------------------------------------------------------------------------------------
def assert_failed(proc: subprocess.CompletedProcess, code: int, *needles: str, traceback_ok: bool = False) -> str:
    """The exit code, each needle on stderr, no password anywhere, no traceback; returns stderr."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}; stderr:\n{proc.stderr[-4000:]}"
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not on stderr:\n{proc.stderr[-4000:]}"
    assert PASSWORD not in out, "a password leaked into the output"
    if traceback_ok:
        # a third-party library may log its own traceback; the run itself must end with dwh's message
        last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
        assert " ERROR dwh." in last, f"the run did not end with dwh's message:\n{proc.stderr[-4000:]}"
    else:
        assert TRACEBACK not in proc.stderr, proc.stderr[-4000:]
    return proc.stderr


def assert_published_intact(work: Workdir, template: Template) -> None:
    assert work.published.exists(), "the published copy is gone"
    assert sha256(work.published) == template.published_sha, "the published copy changed"
    assert not list(work.published.parent.glob(".*publishing*")), "a half-published copy was left behind"
    assert fingerprint(work.published, "gold").keys() == template.gold_tables


def assert_layers_unchanged(work: Workdir, template: Template) -> None:
    """The working file still opens and holds the same bronze row counts, silver and gold."""
    assert row_counts(work.warehouse, "bronze") == template.bronze_counts
    assert fingerprint(work.warehouse, "silver") == template.silver
    assert fingerprint(work.warehouse, "gold") == template.gold


def assert_nothing_touched(work: Workdir, template: Template) -> None:
    """A run stopped before the warehouse was opened: the working file keeps its bytes, no lock was taken."""
    assert sha256(work.warehouse) == sha256(template.warehouse)
    assert not (work.dir / "warehouse.duckdb.lock").exists()
    assert_published_intact(work, template)


# -- bad config and environment: exit 2 before anything is opened ---------------------------------------------
def test_malformed_config_names_file_and_line(work, template):
    work.config.write_text(
        "SOURCE_DATABASES = [\n"
        f"    {{'name': 'guarani_a', 'conn_string': 'postgresql+psycopg2://postgres:{PASSWORD}@db/a'}}\n"
        f"    {{'name': 'guarani_b', 'conn_string': 'postgresql+psycopg2://postgres:{PASSWORD}@db/b'}},\n"
        "]\n",
        encoding="utf-8",
    )
    err = assert_failed(work.run(), EXIT_BAD_INPUT, str(work.config), "syntax error at line")
    assert "***" in err  # the offending line is quoted, its password masked
    assert_nothing_touched(work, template)


def test_missing_config_file(work, template):
    missing = work.dir / "nowhere" / "config.py"
    proc = cli(missing, work.warehouse)
    assert_failed(proc, EXIT_BAD_INPUT, str(missing), "config file not found")
    assert_nothing_touched(work, template)


def test_duplicate_source_names(work, template):
    url = f"postgresql+psycopg2://postgres:{PASSWORD}@db/x"
    work.write_config(
        [{"name": "guarani_a", "conn_string": url}, {"name": "guarani_a", "conn_string": url + "2", "kind": "guarani"}]
    )
    assert_failed(work.run(), EXIT_BAD_INPUT, "SOURCE_DATABASES[1] ('guarani_a'): duplicate name")
    assert_nothing_touched(work, template)


@pytest.mark.parametrize(
    "args, env, needle",
    [
        ((), {"DWH_BRONZE_RESOURCES": "students,nope"}, "DWH_BRONZE_RESOURCES: unknown resource(s) nope"),
        (("--select", "nope"), {}, "--select: unknown name(s) nope"),
    ],
    ids=["DWH_BRONZE_RESOURCES", "--select"],
)
def test_unknown_resource(work, template, args, env, needle):
    err = assert_failed(work.run(*args, **env), EXIT_BAD_INPUT, needle)
    assert "students" in err  # the valid names are listed
    assert_nothing_touched(work, template)


@pytest.mark.parametrize(
    "value, needle",
    [("2025-13-40", "is not a valid date: month must be in 1..12"), ("yesterday", "is not a date in YYYY-MM-DD form")],
)
def test_bad_incremental_start_date(work, template, value, needle):
    proc = work.run(DWH_INCREMENTAL_START_DATE=value)
    assert_failed(proc, EXIT_BAD_INPUT, f"DWH_INCREMENTAL_START_DATE={value!r}", needle)
    assert_nothing_touched(work, template)


@pytest.mark.parametrize("value", ["2025-02-30", "27/11/2025"])
def test_bad_as_of(work, template, value):
    assert_failed(work.run(DWH_AS_OF=value), EXIT_BAD_INPUT, f"DWH_AS_OF={value!r}", "YYYY-MM-DD")
    assert_nothing_touched(work, template)


@pytest.mark.parametrize("value", ["Buenos Aires", "America/Nowhere"])
def test_bad_time_zone(work, template, value):
    assert_failed(work.run(DWH_TIMEZONE=value), EXIT_BAD_INPUT, f"DWH_TIMEZONE={value!r}", "not a known time zone")
    assert_nothing_touched(work, template)


# -- sources that cannot be read: exit 1, the source named, nothing lost ----------------------------------------
def _good_entries(template: Template) -> list[dict]:
    return [
        {"name": name, "conn_string": url, "kind": "moodle" if name == "moodle" else "guarani"}
        for name, url in template.urls.items()
    ]


@pytest.mark.parametrize(
    "url, with_good_sources, needle",
    [
        (f"postgresql+psycopg2://postgres:{PASSWORD}@127.0.0.1:1/guarani", True, "Connection refused"),
        (
            f"postgresql+psycopg2://postgres:{PASSWORD}@/guarani?host=/nonexistent/socket/dir",
            False,
            '"/nonexistent/socket/dir/.s.PGSQL.5432" failed: No such file or directory',
        ),
    ],
    ids=["tcp-port-closed", "missing-socket-dir"],
)
def test_unreachable_source(work, template, url, with_good_sources, needle):
    entries = _good_entries(template) if with_good_sources else []
    work.write_config(entries + [{"name": "guarani_far", "conn_string": url}])
    err = assert_failed(work.run(), EXIT_FAILED, "source guarani_far failed", needle, "bronze failed for source")
    if with_good_sources:
        # the reachable sources still load; only the unreachable one fails the run
        assert "source guarani_a:" in err and "source moodle:" in err
    assert "silver built" not in err  # silver and gold are not rebuilt on a failed bronze
    assert_layers_unchanged(work, template)
    assert_published_intact(work, template)


@contextmanager
def password_role(admin_url: str) -> Iterator[str]:
    """A login role the server authenticates by password (scram-sha-256), even where it trusts the rest.

    The embedded test server trusts every local connection, so a wrong password would be accepted: a
    pg_hba.conf line for this role only, put first and removed afterwards, makes the server ask.
    """
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    role = f"dwh_pw_{uuid.uuid4().hex[:8]}"
    try:
        with engine.connect() as conn:
            hba = Path(conn.execute(text("SHOW hba_file")).scalar())
            if not (hba.is_file() and os.access(hba, os.W_OK)):
                pytest.skip(
                    f"the server's pg_hba.conf ({hba}) is not a local writable file: cannot make it ask for a password"
                )
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'the-right-one'"))
            original = hba.read_text()
            hba.write_text(f"local all {role} scram-sha-256\nhost all {role} all scram-sha-256\n" + original)
            try:
                conn.execute(text("SELECT pg_reload_conf()"))
                yield role
            finally:
                hba.write_text(original)
                conn.execute(text("SELECT pg_reload_conf()"))
                conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    finally:
        engine.dispose()


def _wait_until_password_is_checked(url: str) -> None:
    """pg_reload_conf() only signals the server; wait until a wrong password is really refused."""
    deadline = time.monotonic() + 10
    while True:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect():
                pass
        except Exception as exc:  # noqa: BLE001 - only the authentication failure counts
            if "password authentication failed" in str(exc):
                return
            raise
        finally:
            engine.dispose()
        if time.monotonic() > deadline:
            pytest.skip("the server accepts any password for the test role: a wrong password cannot be provoked")
        time.sleep(0.2)


def test_wrong_password(work, template, pg_admin_url):
    """A role that must authenticate by password, given the wrong one: the real server refuses it."""
    with password_role(pg_admin_url) as role:
        url = render_url(make_url(template.urls["guarani_a"]).set(username=role, password=PASSWORD))
        _wait_until_password_is_checked(url)
        work.write_config([{"name": "guarani_pw", "conn_string": url}])
        assert_failed(
            work.run(), EXIT_FAILED, "source guarani_pw failed", f'password authentication failed for user "{role}"'
        )
    assert_layers_unchanged(work, template)
    assert_published_intact(work, template)


def test_unknown_role(work, template):
    """A user name the server does not know (provokable on any server, also one that trusts local users)."""
    url = render_url(make_url(template.urls["guarani_a"]).set(username="dwh_no_such_role", password=PASSWORD))
    work.write_config([{"name": "guarani_a", "conn_string": url}])
    assert_failed(work.run(), EXIT_FAILED, "source guarani_a failed", 'role "dwh_no_such_role" does not exist')
    assert_layers_unchanged(work, template)
    assert_published_intact(work, template)


def test_source_without_negocio_schema(work, template, fresh_database):
    url = render_url(make_url(fresh_database("bad_empty")).set(password=PASSWORD))
    work.write_config([{"name": "guarani_empty", "conn_string": url}])
    assert_failed(
        work.run(),
        EXIT_FAILED,
        "source guarani_empty failed",
        "source guarani_empty, table students",
        'relation "negocio.sga_alumnos" does not exist',
    )
    assert_layers_unchanged(work, template)
    assert_published_intact(work, template)


# -- the warehouse file ---------------------------------------------------------------------------------------
def test_corrupt_warehouse_is_moved_aside_and_rebuilt_in_full(work, template):
    with open(work.warehouse, "r+b") as fh:
        fh.write(b"\xde\xad\xbe\xef" * 2048)  # 8 KiB of garbage over the header
    corrupt_sha = sha256(work.warehouse)
    err = assert_failed(work.run(), EXIT_RECOVERED, "is corrupt", "moved aside as warehouse.invalid.", "rebuilt")
    moved = [p.name for p in work.dir.glob("warehouse.invalid.*")]
    assert len(moved) == 1 and re.fullmatch(r"warehouse\.invalid\.\d{14}\.duckdb", moved[0]), moved
    assert sha256(work.dir / moved[0]) == corrupt_sha, "the corrupt file must be kept as it was"
    assert "every incremental table reloads in full" in err
    # a fresh file, every incremental table reloaded from the start: nothing lost, nothing doubled
    assert row_counts(work.warehouse, "bronze") == template.bronze_counts
    assert fingerprint(work.warehouse, "silver") == template.silver
    assert fingerprint(work.warehouse, "gold") == template.gold
    # the rebuild was published: a new copy, read-only, with the same gold
    assert sha256(work.published) != template.published_sha
    assert fingerprint(work.published, "gold") == template.gold


@contextmanager
def child_holding(code: str, *args: str) -> Iterator[subprocess.Popen]:
    """A Python child that runs `code`, prints 'held' and waits until its stdin closes."""
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(Path("unused"), Path("unused")),
    )
    try:
        assert child.stdout.readline().strip() == "held"
        yield child
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


HOLD_RUN_LOCK = """
import sys
from pathlib import Path
from dwh.ops.lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), "python -m dwh.main (a long run)"):
    print("held", flush=True)
    sys.stdin.read()
"""

HOLD_DUCKDB_FILE = """
import sys
import duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
con.close()
"""


def test_locked_by_another_run(work, template):
    with child_holding(HOLD_RUN_LOCK, str(work.warehouse)) as holder:
        t0 = time.perf_counter()
        proc = work.run()
        seconds = time.perf_counter() - t0
    err = assert_failed(
        proc, EXIT_FAILED, "is locked by", f"pid {holder.pid} ", "(a long run)", " since ", "not starting"
    )
    assert seconds < 30 and "extracting" not in err  # at once: no source was read
    assert sha256(work.warehouse) == sha256(template.warehouse)
    assert_published_intact(work, template)


def test_locked_by_duckdb_in_another_process(work, template):
    with child_holding(HOLD_DUCKDB_FILE, str(work.warehouse)) as holder:
        proc = work.run()
    assert_failed(
        proc, EXIT_FAILED, "cannot open the warehouse", "Could not set lock", f"PID {holder.pid}", "nothing was changed"
    )
    # a locked file is healthy: it must not be taken for corrupt and moved aside
    assert not list(work.dir.glob("*.invalid.*"))
    assert sha256(work.warehouse) == sha256(template.warehouse)
    assert_published_intact(work, template)


# -- SQL and data tests: exit 1, the layer rolled back ----------------------------------------------------------
def test_sql_syntax_error_keeps_previous_silver(work, template, tmp_path, monkeypatch, capsys):
    """The runner reads SQL from dwh/pipelines/sql_files.SQL_ROOT (no environment override): in-process."""
    from dwh.main import main
    from dwh.pipelines import sql_files

    broken = tmp_path / "sql"
    shutil.copytree(sql_files.SQL_ROOT, broken)
    target = broken / "silver" / "20_fact_course_enrollment.sql"
    sql = target.read_text(encoding="utf-8")
    assert "CREATE OR REPLACE TABLE" in sql
    target.write_text(sql.replace("CREATE OR REPLACE TABLE", "CREATE OR REPLACE TABEL", 1), encoding="utf-8")
    # layer_files' default root was bound at import; every caller (selection, runner) uses that default
    monkeypatch.setattr(sql_files.layer_files, "__defaults__", (broken,))
    monkeypatch.setattr(sql_files, "SQL_ROOT", broken)
    for key in [k for k in os.environ if k.startswith("DWH_")]:
        monkeypatch.delenv(key)
    for key, value in child_env(work.config, work.warehouse).items():
        if key.startswith("DWH_"):
            monkeypatch.setenv(key, value)

    code = main(["--layer", "silver,gold"])
    captured = capsys.readouterr()
    proc = subprocess.CompletedProcess(["dwh.main"], code, captured.out, captured.err)
    err = assert_failed(
        proc, EXIT_FAILED, "silver not built (the previous silver is unchanged)", "20_fact_course_enrollment.sql"
    )
    assert "TABEL" in err  # the parser's message points at the mistake
    assert_layers_unchanged(work, template)  # files 00-12 ran in the same transaction: rolled back
    assert_published_intact(work, template)


def test_failing_error_level_data_test_keeps_previous_gold(work, template, tmp_path):
    seeds = tmp_path / "seeds" / "gold"
    seeds.mkdir(parents=True)
    # the second cuatrimestre frozen on 15 July, before it starts on 1 August
    (seeds / "semester_calendar.csv").write_text(
        "cuatrimestre,as_of_mes,as_of_dia,cierre_mes,cierre_dia,descripcion\n"
        '1,7,31,8,31,"first"\n2,7,15,8,31,"second, frozen before it starts"\n',
        encoding="utf-8",
    )
    proc = work.run(DWH_SEEDS_DIR=str(tmp_path / "seeds"))
    assert_failed(
        proc,
        EXIT_FAILED,
        "gold not built (the previous gold is unchanged)",
        "gold.gold_tft_known_future expression(as_of_date >= fecha_inicio)",
    )
    assert_layers_unchanged(work, template)
    assert_published_intact(work, template)


# -- the file system: a directory that cannot be written, a full disk ------------------------------------------------
@contextmanager
def immutable(directory: Path) -> Iterator[None]:
    """chattr +i: not even root may create, delete or rename entries in the directory."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a directory unwritable for root")
    done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {done.stderr.strip()}")
    try:
        probe = directory / "probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("chattr +i did not stop writes in the directory")
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


@pytest.mark.parametrize("after_earlier_runs", [False, True], ids=["no-lock-file-yet", "lock-file-exists"])
def test_unwritable_warehouse_directory(template, tmp_path, after_earlier_runs):
    """Without the lock file the run stops at once; with it (any earlier run leaves one) bronze cannot commit."""
    work = copy_template(template, tmp_path / "wh", with_lock_file=after_earlier_runs)
    with immutable(work.dir):
        proc = work.run()
    if after_earlier_runs:
        # dlt logs its own worker's traceback when the only job of a load (its state, on a night with no changed
        # rows) cannot commit; dwh's message comes last
        assert_failed(
            proc,
            EXIT_FAILED,
            "source guarani_a failed",
            "warehouse.duckdb.wal",
            "Operation not permitted",
            "the published warehouse",
            traceback_ok=True,
        )
    else:
        assert_failed(proc, EXIT_FAILED, "cannot open the run lock", "Operation not permitted", "not starting")
    assert sha256(work.warehouse) == sha256(template.warehouse)
    assert not list(work.dir.glob("*.invalid.*"))
    assert_published_intact(work, template)


@contextmanager
def tmpfs(mountpoint: Path, size_mb: int) -> Iterator[None]:
    mountpoint.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root: cannot simulate a full disk")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (CAP_SYS_ADMIN?): {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def fill(directory: Path, leave_kb: int) -> Path:
    """Fill the file system with one file, then shrink it so that about leave_kb KiB stay free."""
    filler = directory / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave_kb * 1024))
    return filler


@pytest.mark.parametrize(
    "leave_kb, args, needles",
    [
        (0, (), ("cannot write the run lock", "No space left on device", "not starting")),
        # which write meets the full disk depends on what the night writes: a nightly read by row versions with
        # nothing changed writes little (a source's load, bronze's load log, or silver's commit)
        (512, (), ("No space left on device", "run failed")),
        (2048, ("--layer", "silver"), ("silver not built", "Failed to commit", "No space left on device")),
    ],
    ids=["no-space-at-all", "bronze-runs-out", "silver-commit-runs-out"],
)
def test_full_disk(template, tmp_path, leave_kb, args, needles):
    """The warehouse directory on a small tmpfs, filled up; then the space comes back and a run recovers."""
    with tmpfs(tmp_path / "wh", size_mb=64):
        work = copy_template(template, tmp_path / "wh", with_lock_file=True)
        filler = fill(work.dir, leave_kb)
        proc = work.run(*args)
        # dlt may log its own worker's traceback when a load job dies of ENOSPC; dwh's message comes last
        assert_failed(proc, EXIT_FAILED, *needles, traceback_ok=True)
        assert not list(work.dir.glob("*.invalid.*")), "a full disk is not corruption"
        assert_published_intact(work, template)
        if leave_kb == 2048:
            # the silver transaction rolled back; the earlier layers are as they were
            assert_layers_unchanged(work, template)
        if leave_kb == 512:
            # space again: the next run picks up what was left pending and rebuilds everything
            filler.unlink()
            subprocess.run(["mount", "-o", "remount,size=256m", str(work.dir)], check=True)
            again = work.run()
            assert again.returncode == 0, again.stderr[-4000:]
            assert_layers_unchanged(work, template)
