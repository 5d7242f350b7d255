"""Bronze under bad conditions: failing sources, bad settings, schema variants and drift, read-only sessions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from bronze_support import bronze_tables, run_bronze, wh, wh_scalar, write_config
from pg_util import execute, scalar
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dwh.pipelines import bronze_settings
from dwh.settings import ConfigError, SourceDatabase
from dwh.sources.sql_resource import source_engine


@pytest.fixture(scope="module")
def university(make_synthetic):
    return make_synthetic(students=200, sources=2, years=3, seed=31, moodle=False)


def test_a_failing_source_does_not_stop_the_others(university, tmp_path):
    good = university["guarani_a"]
    url = make_url(good)
    bad = url.set(database="no_such_guarani", password="s3cr3t-pw").render_as_string(hide_password=False)
    config = write_config(tmp_path / "c.py", {"guarani_x": (bad, "guarani"), "guarani_a": (good, "guarani")})
    warehouse = tmp_path / "w.duckdb"
    result = run_bronze(config, warehouse)
    assert result.returncode == 1
    assert "guarani_x" in result.stderr and "no_such_guarani" in result.stderr
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.students WHERE source_db = 'guarani_a'") == scalar(
        good, "SELECT count(*) FROM negocio.sga_alumnos"
    )
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.students WHERE source_db = 'guarani_x'") == 0
    failed = wh(warehouse, "SELECT DISTINCT status FROM bronze._dwh_load_log WHERE source_db = 'guarani_x'")
    assert failed in ([], [("failed",)])


def test_a_type_change_at_the_source_fails_cleanly_and_resumes_once_fixed(make_synthetic, tmp_path):
    urls = make_synthetic(students=150, sources=1, years=2, seed=32, moodle=False)
    url = urls["guarani_a"]
    config = write_config(tmp_path / "c.py", {"guarani_a": (url, "guarani")})
    warehouse = tmp_path / "w.duckdb"
    assert run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="reinscripciones").returncode == 0
    before = wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones")
    execute(
        url,
        "ALTER TABLE negocio.sga_reinscripciones ALTER COLUMN nro_transaccion TYPE varchar(20) "
        "USING 'T-' || nro_transaccion::text",
    )
    execute(
        url,
        "INSERT INTO negocio.sga_reinscripciones (reinscripcion, alumno, anio_academico, "
        "fecha_reinscripcion, nro_transaccion) SELECT 990001, min(alumno), 2025, "
        "(SELECT max(fecha_reinscripcion) FROM negocio.sga_reinscripciones), 'T-1' FROM negocio.sga_alumnos",
    )
    result = run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="reinscripciones")
    assert result.returncode == 1
    message = result.stderr
    assert "guarani_a" in message and "reinscripciones" in message and "nro_transaccion" in message
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones") == before
    execute(
        url,
        "ALTER TABLE negocio.sga_reinscripciones ALTER COLUMN nro_transaccion TYPE integer "
        "USING replace(nro_transaccion, 'T-', '')::integer",
    )
    assert run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="reinscripciones").returncode == 0
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones") == before + 1


def test_missing_views_use_the_fallback_then_skip_without_losing_history(make_synthetic, tmp_path):
    urls = make_synthetic(students=150, sources=1, years=3, seed=33, moodle=False)
    url = urls["guarani_a"]
    config = write_config(tmp_path / "c.py", {"guarani_a": (url, "guarani")})
    warehouse = tmp_path / "w.duckdb"
    only = {"DWH_BRONZE_RESOURCES": "historia_academica,students"}
    total = scalar(url, "SELECT count(*) FROM negocio.vw_hist_academica")

    execute(url, "ALTER VIEW negocio.vw_hist_academica RENAME TO vw_hist_academica_hidden")
    result = run_bronze(config, warehouse, **only)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "vw_hist_academica" in result.stderr  # the warning names what is missing
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica") == total
    assert wh(warehouse, "SELECT status FROM bronze._dwh_load_log WHERE table_name = 'historia_academica'") == [
        ("fallback",)
    ]

    execute(url, "ALTER VIEW negocio.vw_hist_academica_basica RENAME TO vw_hist_academica_basica_hidden")
    result = run_bronze(config, warehouse, **only)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped" in result.stderr
    statuses = [
        r[0]
        for r in wh(
            warehouse,
            "SELECT status FROM bronze._dwh_load_log WHERE table_name = 'historia_academica' ORDER BY started_at",
        )
    ]
    assert statuses == ["fallback", "skipped"]

    execute(url, "ALTER VIEW negocio.vw_hist_academica_hidden RENAME TO vw_hist_academica")
    execute(url, "ALTER VIEW negocio.vw_hist_academica_basica_hidden RENAME TO vw_hist_academica_basica")
    assert run_bronze(config, warehouse, **only).returncode == 0
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica") == total
    assert wh_scalar(warehouse, "SELECT count(*) - count(DISTINCT dwh_pk) FROM bronze.historia_academica") == 0
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica WHERE tipo IS NOT NULL") == total


def test_missing_optional_table_is_skipped_and_the_table_still_exists(make_synthetic, tmp_path):
    urls = make_synthetic(students=120, sources=1, years=2, seed=34, moodle=False)
    url = urls["guarani_a"]
    execute(url, "DROP TABLE negocio.sga_certificados_otorg")
    config = write_config(tmp_path / "c.py", {"guarani_a": (url, "guarani")})
    warehouse = tmp_path / "w.duckdb"
    result = run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="graduates,students")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "graduates" in result.stderr and "sga_certificados_otorg" in result.stderr
    assert wh(warehouse, "SELECT status FROM bronze._dwh_load_log WHERE table_name = 'graduates'") == [("skipped",)]


def test_resources_env_selects_tables_and_rejects_unknown_names(university, tmp_path):
    config = write_config(tmp_path / "c.py", {"guarani_a": (university["guarani_a"], "guarani")})
    warehouse = tmp_path / "w.duckdb"
    result = run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="students,personas")
    assert result.returncode == 0, result.stderr[-2000:]
    assert bronze_tables(warehouse) == {"students", "personas"}
    bad = run_bronze(config, tmp_path / "w2.duckdb", DWH_BRONZE_RESOURCES="students,alumnos_x")
    assert bad.returncode == 2
    assert "alumnos_x" in bad.stderr and "course_inscriptions" in bad.stderr


def test_an_empty_table_is_created_with_its_columns(university, tmp_path):
    # guarani_b: three years of cohorts, nobody has graduated (guarani_a's migrated history has graduates)
    config = write_config(tmp_path / "c.py", {"guarani_b": (university["guarani_b"], "guarani")})
    warehouse = tmp_path / "w.duckdb"
    assert scalar(university["guarani_b"], "SELECT count(*) FROM negocio.sga_certificados_otorg") == 0
    assert run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="graduates").returncode == 0
    columns = dict(
        wh(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'bronze' AND table_name = 'graduates'",
        )
    )
    assert columns["fecha_egreso"] == "DATE" and columns["promedio"] == "DECIMAL(5,2)"
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.graduates") == 0


def test_incremental_start_date_seeds_new_state_only(university, tmp_path):
    url = university["guarani_b"]
    config = write_config(tmp_path / "c.py", {"guarani_b": (url, "guarani")})
    warehouse = tmp_path / "w.duckdb"
    result = run_bronze(
        config, warehouse, DWH_BRONZE_RESOURCES="reinscripciones", DWH_INCREMENTAL_START_DATE="2025-01-01"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = scalar(
        url, "SELECT count(*) FROM negocio.sga_reinscripciones WHERE fecha_reinscripcion >= '2025-01-01 00:00-03'"
    )
    assert 0 < expected < scalar(url, "SELECT count(*) FROM negocio.sga_reinscripciones")
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones") == expected
    for bad in ("2025-13-01", "01/02/2025", "tomorrow"):
        failed = run_bronze(config, tmp_path / "x.duckdb", DWH_INCREMENTAL_START_DATE=bad)
        assert failed.returncode == 2 and "DWH_INCREMENTAL_START_DATE" in failed.stderr


def test_worker_variables_reach_dlt():
    env = {"DLT__EXTRACT__WORKERS": "2", "DLT__NORMALIZE__WORKERS": "1", "DLT__LOAD__WORKERS": "3"}
    applied = bronze_settings.configure_dlt(env)
    assert (env["EXTRACT__WORKERS"], env["NORMALIZE__WORKERS"], env["LOAD__WORKERS"]) == ("2", "1", "3")
    assert applied["LOAD__WORKERS"] == "3"
    defaults: dict[str, str] = {}
    bronze_settings.configure_dlt(defaults)
    assert defaults["LOAD__WORKERS"] == "1" and defaults["LOAD__AUTO_ABORT_ON_TERMINAL_ERROR"] == "true"
    with pytest.raises(ConfigError, match="DLT__LOAD__WORKERS"):
        bronze_settings.configure_dlt({"DLT__LOAD__WORKERS": "many"})


def test_worker_variable_is_read_by_dlt_itself(monkeypatch):
    import dlt

    monkeypatch.setenv("DLT__LOAD__WORKERS", "4")
    bronze_settings.configure_dlt()
    assert int(dlt.config.get("load.workers")) == 4


def test_bad_worker_variable_exits_non_zero(university, tmp_path):
    config = write_config(tmp_path / "c.py", {"guarani_a": (university["guarani_a"], "guarani")})
    result = run_bronze(config, tmp_path / "w.duckdb", DLT__EXTRACT__WORKERS="0")
    assert result.returncode == 2 and "DLT__EXTRACT__WORKERS" in result.stderr


def test_source_sessions_are_read_only(university):
    engine = source_engine(SourceDatabase("guarani_a", university["guarani_a"], "guarani"))
    try:
        with engine.connect() as conn:
            with pytest.raises(sa.exc.InternalError, match="read-only"):
                conn.execute(text("CREATE TABLE negocio.dwh_should_not_exist (a integer)"))
        with engine.connect() as conn:
            tz = conn.execute(text("SHOW TimeZone")).scalar()
            date_style = conn.execute(text("SHOW DateStyle")).scalar()
    finally:
        engine.dispose()
    assert tz == "America/Argentina/Buenos_Aires"
    assert date_style == "ISO, YMD"
