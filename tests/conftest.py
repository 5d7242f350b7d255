"""Shared fixtures: a PostgreSQL admin URL, throwaway databases and a per-test environment."""

from __future__ import annotations

import fnmatch
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from postgres_backend import admin_server, server_version

from dwh.devdb import create_database, drop_database

_BACKEND = pytest.StashKey[str]()
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Variables that would make a test depend on the developer's shell.
_CLEARED_VARS = ("DWH_CONFIG", "DWH_AS_OF")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path) -> Iterator[None]:
    """Undo every os.environ change a test makes; give each test its own warehouse and devdb paths."""
    saved = dict(os.environ)
    for var in _CLEARED_VARS:
        os.environ.pop(var, None)
    os.environ["DWH_DUCKDB_PATH"] = str(tmp_path / "warehouse.duckdb")
    os.environ["DWH_DEVDB_DIR"] = str(tmp_path / "devdb")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def pg_admin_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Superuser URL to database `postgres` on a server that allows CREATE DATABASE."""
    with admin_server() as (label, url):
        request.config.stash[_BACKEND] = f"{label} {server_version(url)}"
        yield url


@pytest.fixture(scope="session")
def fresh_database(pg_admin_url: str) -> Iterator[Callable[[str], str]]:
    """Factory make_db(name_prefix) -> URL of a new, uniquely named database, dropped at session end."""
    created: list[str] = []

    def make_db(name_prefix: str) -> str:
        if not _PREFIX_RE.match(name_prefix):
            raise ValueError(f"database name prefix {name_prefix!r} must match {_PREFIX_RE.pattern}")
        name = f"{name_prefix}_{uuid.uuid4().hex[:12]}"
        url = create_database(pg_admin_url, name, drop_existing=False)
        created.append(name)
        return url

    yield make_db
    for name in created:
        drop_database(pg_admin_url, name)


# Modules marked `slow` (`make test-fast` leaves them out): each builds a synthetic university, runs the whole
# pipeline, trains a model or drives a browser. Marked here so the test modules themselves stay unchanged.
SLOW_MODULES = (
    "test_ml.py",
    "test_ml_tft.py",
    "test_oracle.py",
    "test_dashboard_tutor.py",
    "test_dashboard_app.py",
    "test_bronze_types.py",
    "test_gold_time_travel.py",
    "test_privacy.py",
    "test_interventions.py",
    "test_ops_kill.py",
    "test_synthetic_*.py",
)
# The browser tests skip with a reason naming Chromium when /usr/bin/chromium or chromedriver is missing.
# With DWH_REQUIRE_BROWSER=1 (set by .ci/run) such a skip is a failure: CI must not pass without them.
REQUIRE_BROWSER = "DWH_REQUIRE_BROWSER"
BROWSER_HINT = "apt-get install chromium chromium-driver (as .ci/run does), then make test"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(fnmatch.fnmatch(item.path.name, pattern) for pattern in SLOW_MODULES):
            item.add_marker(pytest.mark.slow)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)


def _is_browser_skip(report: pytest.TestReport) -> bool:
    return report.skipped and "chromium" in _skip_reason(report).lower()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if os.environ.get(REQUIRE_BROWSER) == "1" and _is_browser_skip(report):
        report.outcome = "failed"
        report.longrepr = f"{_skip_reason(report)}; {REQUIRE_BROWSER}=1 requires the browser tests"
        report.user_properties.append(("browser_missing", True))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    reports = [r for key in ("skipped", "failed", "error") for r in terminalreporter.stats.get(key, [])]
    skipped = sum(1 for r in reports if isinstance(r, pytest.TestReport) and _is_browser_skip(r))
    failed = sum(1 for r in reports if ("browser_missing", True) in getattr(r, "user_properties", []))
    if failed:
        terminalreporter.write_line(
            f"browser tests: {failed} FAILED, Chromium missing and {REQUIRE_BROWSER}=1; {BROWSER_HINT}", red=True
        )
    elif skipped:
        terminalreporter.write_line(f"browser tests: {skipped} skipped, no Chromium; to run them: {BROWSER_HINT}")
    terminalreporter.write_line(f"postgres: {config.stash.get(_BACKEND, 'not used in this session')}")


SYNTHETIC_UNTIL = "2025-11-27"


@pytest.fixture(scope="session")
def make_synthetic(pg_admin_url: str) -> Iterator[Callable[..., dict[str, str]]]:
    """Factory generate(**GeneratorConfig fields) -> {source name: URL}; databases dropped at session end."""
    import datetime as dt

    from dwh.synthetic.generate import generate
    from dwh.synthetic.params import GeneratorConfig

    created: list[str] = []

    def make(**fields) -> dict[str, str]:
        fields.setdefault("until", dt.date.fromisoformat(SYNTHETIC_UNTIL))
        prefix = f"syn_{uuid.uuid4().hex[:8]}_"
        sources = generate(GeneratorConfig(**fields), pg_admin_url, db_prefix=prefix)
        created.extend(prefix + s.name for s in sources)
        return {s.name: s.url for s in sources}

    yield make
    for name in created:
        drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def synthetic_small(make_synthetic) -> dict[str, str]:
    """A small synthetic university: two Guaraní sources and Moodle, 800 students, seed 7."""
    return make_synthetic(students=800, sources=2, years=5, seed=7)
