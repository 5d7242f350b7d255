"""RunSettings: read once from the environment, typed, checked; the one list behind --help, README, .env.example."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from dwh.docs.generate import ENV_EXAMPLE, readme_with_variables
from dwh.main import ENVIRONMENT
from dwh.settings import VARIABLES, ConfigError, RunSettings, env_example, readme_table


def test_defaults_from_an_empty_environment(tmp_path):
    settings = RunSettings.from_env({"DWH_DUCKDB_PATH": str(tmp_path / "w.duckdb")})
    assert settings.warehouse == tmp_path / "w.duckdb"
    assert settings.published == tmp_path / "published" / "w.duckdb"
    assert settings.key_file == tmp_path / "w.duckdb.key"
    assert settings.as_of == dt.date.today()
    assert settings.time_zone == "America/Argentina/Buenos_Aires"
    assert settings.bronze_resources is None and settings.lag_days == {}
    assert settings.incremental_start == dt.date(1900, 1, 1)
    assert settings.seeds_dir is None and settings.hash_salt is None
    assert settings.app_db.startswith("sqlite:///") and settings.app_db.endswith("/app.sqlite")
    assert settings.memory_limit == "1GB"


def test_every_value_is_read_and_typed(tmp_path):
    env = {
        "DWH_CONFIG": str(tmp_path / "c.py"),
        "DWH_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "DWH_PUBLISHED_PATH": str(tmp_path / "pub" / "p.duckdb"),
        "DWH_AS_OF": "2025-03-01",
        "DWH_TIMEZONE": "UTC",
        "DWH_BRONZE_RESOURCES": "personas, students",
        "DWH_INCREMENTAL_START_DATE": "2020-01-01",
        "DWH_LAG_DAYS_COURSE_INSCRIPTIONS": "9",
        "DWH_SEEDS_DIR": str(tmp_path / "seeds"),
        "DWH_KEY_FILE": str(tmp_path / "k.key"),
        "DWH_HASH_SALT": "s3cret",
        "DWH_APP_DB": str(tmp_path / "app.sqlite"),
        "DWH_MEMORY_LIMIT": "2.5GB",
    }
    settings = RunSettings.from_env(env)
    assert settings.config_path == tmp_path / "c.py"
    assert settings.published == tmp_path / "pub" / "p.duckdb"
    assert settings.as_of == dt.date(2025, 3, 1) and settings.time_zone == "UTC"
    assert settings.bronze_resources == ("students", "personas")  # catalog order
    assert settings.incremental_start == dt.date(2020, 1, 1)
    assert settings.lag_days == {"course_inscriptions": 9}
    assert settings.seeds_dir == tmp_path / "seeds" and settings.key_file == tmp_path / "k.key"
    assert settings.hash_salt == "s3cret" and "s3cret" not in repr(settings)
    assert settings.memory_limit == "2.5GB"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.as_of = dt.date(2000, 1, 1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DWH_AS_OF", "2025-02-30"),
        ("DWH_TIMEZONE", "America/Nowhere"),
        ("DWH_BRONZE_RESOURCES", "students,nope"),
        ("DWH_INCREMENTAL_START_DATE", "yesterday"),
        ("DWH_LAG_DAYS_COURSE_INSCRIPTIONS", "-3"),
        ("DWH_APP_DB", "mysql://u@h/db"),
        ("DWH_MEMORY_LIMIT", "a lot"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        RunSettings.from_env({name: value})


def test_bad_environment_exits_2_before_any_file_is_opened(tmp_path, monkeypatch, capsys):
    from dwh.main import main

    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("DWH_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("DWH_CONFIG", str(tmp_path / "missing.py"))
    monkeypatch.setenv("DWH_TIMEZONE", "Mars/Olympus")
    assert main([]) == 2
    assert "DWH_TIMEZONE" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_one_list_documents_every_variable():
    names = [n.strip() for v in VARIABLES for n in v.name.split(",")]
    assert len(names) == len(set(names))
    assert all(v.type and v.default and v.help and "\n" not in v.help for v in VARIABLES)
    for name in names:
        if name != "DWH_TEST_POSTGRES_URL":
            assert name in ENVIRONMENT, name  # --help
        assert f"`{name}`" in readme_table()
        assert name.replace("<TABLE>", "STUDENTS") in env_example()


def test_readme_table_and_env_example_are_the_generated_ones():
    assert readme_with_variables() == (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    assert ENV_EXAMPLE.read_text(encoding="utf-8") == env_example()


def test_only_settings_reads_dwh_variables():
    package = Path(__file__).resolve().parent.parent / "dwh"
    readers = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "os.environ" in p.read_text(encoding="utf-8") and "DWH_" in p.read_text(encoding="utf-8")
    )
    # demo sets DWH_CONFIG for the run it starts; bench builds child environments
    assert set(readers) <= {
        "settings.py",
        "demo.py",
        "bench/bronze.py",
        "bench/floor.py",
        "pipelines/bronze_settings.py",  # writes the variables dlt reads (DLT__*, LOAD__*)
        "bench/measure.py",
    }, readers
