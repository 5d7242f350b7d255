"""Tests for dwh.settings: config validation, paths and the as-of date."""

from __future__ import annotations

import datetime
import os
import textwrap
from pathlib import Path

import pytest

from dwh.settings import (
    PACKAGE_DIR,
    ConfigError,
    SourceDatabase,
    as_of_date,
    default_config_path,
    dlt_state_dir,
    load_config,
    warehouse_path,
)

GOOD_URL = "postgresql+psycopg2://reader:pw@localhost:5432/guarani"
SECRET = "s3cr3t-Pa55"


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.py"
    path.write_text(textwrap.dedent(body))
    return path


def config_error(tmp_path: Path, body: str) -> str:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert str(path) in message
    return message


# --- good configurations ------------------------------------------------------


def test_good_config_with_env_var_and_unix_socket(tmp_path: Path) -> None:
    os.environ["DWH_TEST_MOODLE_URL"] = f"postgresql://moodle:{SECRET}@db.example.edu/moodle"
    path = write_config(
        tmp_path,
        f"""
        SOURCE_DATABASES = [
            {{"name": "guarani_a", "conn_string": "{GOOD_URL}", "kind": "guarani"}},
            {{"name": "guarani_b",
              "conn_string": "postgresql+psycopg2://reader@/guarani?host=/var/run/postgresql"}},
            {{"name": "moodle", "conn_string": "env:DWH_TEST_MOODLE_URL", "kind": "moodle"}},
        ]
        """,
    )
    sources = load_config(path)
    assert [s.name for s in sources] == ["guarani_a", "guarani_b", "moodle"]
    assert [s.kind for s in sources] == ["guarani", "guarani", "moodle"]
    assert sources[1].conn_string.endswith("?host=/var/run/postgresql")
    assert sources[2].conn_string == os.environ["DWH_TEST_MOODLE_URL"]
    assert SECRET not in sources[2].redacted_url
    assert "***" in sources[2].redacted_url
    assert SECRET not in repr(sources[2])


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, f'SOURCE_DATABASES = [{{"name": "g", "conn_string": "{GOOD_URL}"}}]')
    os.environ["DWH_CONFIG"] = str(path)
    assert load_config() == [SourceDatabase(name="g", conn_string=GOOD_URL, kind="guarani")]


def test_default_config_path_is_in_package() -> None:
    assert default_config_path() == PACKAGE_DIR / "config.py"


def test_example_config_loads_with_demo_variables() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.py"
    for var in ("DWH_DEMO_GUARANI_A_URL", "DWH_DEMO_GUARANI_B_URL", "DWH_DEMO_MOODLE_URL"):
        os.environ[var] = "postgresql+psycopg2://postgres@/x?host=/tmp"
    sources = load_config(example)
    assert [(s.name, s.kind) for s in sources] == [
        ("guarani_a", "guarani"),
        ("guarani_b", "guarani"),
        ("moodle", "moodle"),
    ]


# --- one test per bad case ----------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.py"
    with pytest.raises(ConfigError, match="not found") as excinfo:
        load_config(path)
    assert str(path) in str(excinfo.value)


def test_syntax_error_names_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'SOURCE_DATABASES = [\n    {"name": "a",, }\n]\n')
    assert "syntax error at line 2" in message


def test_file_that_fails_to_run(tmp_path: Path) -> None:
    message = config_error(tmp_path, "SOURCE_DATABASES = [undefined_name]")
    assert "NameError" in message


def test_source_databases_missing(tmp_path: Path) -> None:
    assert "SOURCE_DATABASES is not defined" in config_error(tmp_path, "SOURCES = []")


def test_source_databases_not_a_list(tmp_path: Path) -> None:
    message = config_error(tmp_path, f'SOURCE_DATABASES = {{"name": "a", "conn_string": "{GOOD_URL}"}}')
    assert "must be a list" in message and "dict" in message


def test_source_databases_empty(tmp_path: Path) -> None:
    assert "SOURCE_DATABASES is empty" in config_error(tmp_path, "SOURCE_DATABASES = []")


def test_entry_not_a_dict(tmp_path: Path) -> None:
    message = config_error(tmp_path, f'SOURCE_DATABASES = ["{GOOD_URL}"]')
    assert "SOURCE_DATABASES[0]" in message and "must be a dict" in message


def test_missing_key(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        f"""
        SOURCE_DATABASES = [
            {{"name": "ok", "conn_string": "{GOOD_URL}"}},
            {{"name": "no_url"}},
        ]
        """,
    )
    assert "SOURCE_DATABASES[1] ('no_url')" in message and "missing key(s): conn_string" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "{GOOD_URL}", "schema": "x"}}]',
    )
    assert "SOURCE_DATABASES[0] ('a')" in message and "unknown key(s): schema" in message


def test_bad_name(tmp_path: Path) -> None:
    message = config_error(tmp_path, f'SOURCE_DATABASES = [{{"name": "Guarani-A", "conn_string": "{GOOD_URL}"}}]')
    assert "SOURCE_DATABASES[0] ('Guarani-A')" in message and "invalid" in message


def test_duplicate_names(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        f"""
        SOURCE_DATABASES = [
            {{"name": "a", "conn_string": "{GOOD_URL}"}},
            {{"name": "b", "conn_string": "{GOOD_URL}"}},
            {{"name": "a", "conn_string": "{GOOD_URL}"}},
        ]
        """,
    )
    assert "SOURCE_DATABASES[2] ('a')" in message and "SOURCE_DATABASES[0]" in message
    assert "duplicate" in message


def test_bad_kind(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "{GOOD_URL}", "kind": "sigeco"}}]',
    )
    assert "SOURCE_DATABASES[0] ('a')" in message and "'sigeco'" in message


def test_unknown_env_var(tmp_path: Path) -> None:
    os.environ.pop("DWH_TEST_NOT_SET", None)
    message = config_error(tmp_path, 'SOURCE_DATABASES = [{"name": "a", "conn_string": "env:DWH_TEST_NOT_SET"}]')
    assert "SOURCE_DATABASES[0] ('a')" in message and "DWH_TEST_NOT_SET" in message


def test_empty_env_var(tmp_path: Path) -> None:
    os.environ["DWH_TEST_EMPTY"] = ""
    message = config_error(tmp_path, 'SOURCE_DATABASES = [{"name": "a", "conn_string": "env:DWH_TEST_EMPTY"}]')
    assert "DWH_TEST_EMPTY" in message


def test_non_postgresql_url(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'SOURCE_DATABASES = [{"name": "a", "conn_string": "mysql+pymysql://u@h/db"}]')
    assert "SOURCE_DATABASES[0] ('a')" in message and "PostgreSQL" in message


def test_unparseable_url(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'SOURCE_DATABASES = [{"name": "a", "conn_string": "not a url"}]')
    assert "SOURCE_DATABASES[0] ('a')" in message and "not a valid database URL" in message


# --- passwords never leak -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "mysql://u:{SECRET}@h/db"}}]',
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "postgresql://u:{SECRET}@h:port/db"}}]',
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "postgresql://u:{SECRET}@h/db", "x": 1}}]',
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "postgresql://u:{SECRET}@h/db",, }}]',
        f'raise ValueError("cannot reach postgresql://u:{SECRET}@h/db")',
        f'SOURCE_DATABASES = [{{"name": "A", "conn_string": "postgresql://u:{SECRET}@h/db"}}]',
        f'SOURCE_DATABASES = [{{"name": "a", "conn_string": "postgresql://u:{SECRET}@h/db", "kind": "x"}}]',
        "SOURCE_DATABASES = [{'name': 'a', 'conn_string': 'env:DWH_TEST_SECRET_URL'}]",
    ],
    ids=[
        "non-postgres",
        "bad-port",
        "unknown-key",
        "syntax-error",
        "exception-text",
        "bad-name",
        "bad-kind",
        "env-value",
    ],
)
def test_password_never_in_message(tmp_path: Path, body: str) -> None:
    os.environ["DWH_TEST_SECRET_URL"] = f"oracle://u:{SECRET}@h/db"
    message = config_error(tmp_path, body)
    assert SECRET not in message


# --- paths and dates ------------------------------------------------------------


def test_warehouse_path_default() -> None:
    del os.environ["DWH_DUCKDB_PATH"]
    assert warehouse_path() == PACKAGE_DIR / "data" / "warehouse.duckdb"


def test_warehouse_path_from_env_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.environ["DWH_DUCKDB_PATH"] = "sub/w.duckdb"
    assert warehouse_path() == tmp_path.resolve() / "sub" / "w.duckdb"
    assert warehouse_path().is_absolute()


def test_dlt_state_dir_beside_warehouse(tmp_path: Path) -> None:
    os.environ["DWH_DUCKDB_PATH"] = str(tmp_path / "one.duckdb")
    assert dlt_state_dir() == tmp_path.resolve() / "one.dlt"
    assert dlt_state_dir(tmp_path / "two.duckdb") == tmp_path.resolve() / "two.dlt"
    assert dlt_state_dir() != dlt_state_dir(tmp_path / "two.duckdb")
    assert not dlt_state_dir().is_relative_to(Path.home() / ".dlt")


def test_as_of_date_defaults_to_today() -> None:
    assert as_of_date() == datetime.date.today()


def test_as_of_date_from_env() -> None:
    os.environ["DWH_AS_OF"] = "2024-03-15"
    assert as_of_date() == datetime.date(2024, 3, 15)


@pytest.mark.parametrize("value", ["2024-13-01", "15/03/2024", "20240315", "2024-3-5", "yesterday"])
def test_as_of_date_bad_value(value: str) -> None:
    os.environ["DWH_AS_OF"] = value
    with pytest.raises(ConfigError) as excinfo:
        as_of_date()
    assert "DWH_AS_OF" in str(excinfo.value) and value in str(excinfo.value)
