"""Bronze reads every deployment's column types as the one declared type of each bronze column.

Three copies of one Guaraní database differ only in types: every date or time column is DATE in the
first, TIMESTAMPTZ in the second and TIMESTAMP WITHOUT TIME ZONE in the third (times between 21:00 and
23:58 local, when the UTC day is already the next one), and the integer, text and numeric columns have
other widths and kinds. The three load into the same bronze rows.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid

import duckdb
import pytest
from bronze_support import run_bronze, wh, write_config
from deployment_variants import DATE_TYPES, clone_database, retype
from pg_util import execute, query

from dwh.bench.extract_drivers import compare, jobs_for
from dwh.devdb import drop_database
from dwh.pipelines import bronze_settings
from dwh.settings import SourceDatabase
from dwh.sources.catalog import TABLES
from dwh.sources.declared import declared_columns

AS_OF = "2025-07-24"  # inside the exam turn: rows dated on the as-of day itself must load in every variant
ZONES = ["America/Argentina/Buenos_Aires", "America/Los_Angeles"]
GUARANI_TABLES = [t.name for t in TABLES if t.kind == "guarani"]


@pytest.fixture(scope="module")
def base_source(make_synthetic) -> str:
    return make_synthetic(students=250, sources=1, years=6, seed=41, moodle=False)["guarani_a"]


@pytest.fixture(scope="module", params=ZONES)
def variants(request, base_source, pg_admin_url, tmp_path_factory):
    """The three deployments loaded by one bronze run with DWH_TIMEZONE=zone."""
    zone = request.param
    tag = uuid.uuid4().hex[:8]
    urls, changed = {}, {}
    for kind in ("date", "timestamptz", "timestamp"):
        name = f"types_{kind}_{tag}"
        urls[kind] = clone_database(pg_admin_url, base_source, name)
        changed[kind] = retype(urls[kind], kind, zone)
    base = tmp_path_factory.mktemp("bronze_types")
    config = write_config(base / "config.py", {f"v_{k}": (u, "guarani") for k, u in urls.items()})
    warehouse = base / "warehouse.duckdb"
    result = run_bronze(config, warehouse, DWH_TIMEZONE=zone, DWH_AS_OF=AS_OF)
    yield zone, urls, changed, warehouse, result
    for kind in urls:
        drop_database(pg_admin_url, f"types_{kind}_{tag}")


def _columns(table: str, zone: str, days: bool) -> str:
    out = []
    for column, data_type in declared_columns()[table]:
        if data_type == "TIMESTAMP WITH TIME ZONE" and days:
            out.append(f'CAST(timezone(\'{zone}\', "{column}") AS DATE) AS "{column}"')
        else:
            out.append(f'"{column}"')
    return ", ".join(out)


def _difference(warehouse, table: str, columns: str, left: str, right: str) -> int:
    sql = (
        f"SELECT count(*) FROM (SELECT {columns} FROM bronze.{table} WHERE source_db = ? "
        f"EXCEPT ALL SELECT {columns} FROM bronze.{table} WHERE source_db = ?)"
    )
    return wh(warehouse, sql, [left, right])[0][0]


def test_every_date_and_time_column_changes_type_in_the_variants(variants, base_source):
    zone, urls, changed, _warehouse, result = variants
    assert result.returncode == 0, result.stderr[-3000:]
    temporal = {
        (t, c)
        for t, c in query(
            base_source,
            "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) WHERE c.table_schema = 'negocio' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN :types",
            types=DATE_TYPES,
        )
    }
    assert len(temporal) > 20
    for kind, expected in (
        ("date", "date"),
        ("timestamptz", "timestamp with time zone"),
        ("timestamp", "timestamp without time zone"),
    ):
        now = {
            (t, c): d
            for t, c, d in query(
                urls[kind],
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'negocio'",
            )
        }
        assert {now[k] for k in temporal} == {expected}, kind
        assert now[("vw_hist_academica", "fecha")] == expected, kind
    widened = {(t, c) for t, c, old, _new in changed["timestamptz"] if old not in DATE_TYPES}
    assert ("sga_alumnos", "alumno") in widened and ("sga_clases_asistencia_acum", "porc_asistencia") in widened


@pytest.mark.parametrize("table", GUARANI_TABLES)
def test_every_deployment_gives_the_same_bronze_rows(variants, table):
    """DATE columns equal; instants fall on the same local day; TIMESTAMPTZ and wall-clock TIMESTAMP agree."""
    zone, _urls, _changed, warehouse, result = variants
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(wh(warehouse, f"SELECT source_db, count(*) FROM bronze.{table} GROUP BY 1"))
    assert counts.get("v_date", 0) > 0, f"{table}: no rows to compare"
    assert counts.get("v_date") == counts.get("v_timestamptz") == counts.get("v_timestamp"), counts
    days = _columns(table, zone, days=True)
    assert _difference(warehouse, table, days, "v_date", "v_timestamptz") == 0
    assert _difference(warehouse, table, days, "v_timestamptz", "v_date") == 0
    exact = _columns(table, zone, days=False)
    assert _difference(warehouse, table, exact, "v_timestamptz", "v_timestamp") == 0
    assert _difference(warehouse, table, exact, "v_timestamp", "v_timestamptz") == 0


def test_the_late_evening_is_where_the_utc_day_is_the_next_one(variants):
    """The comparison above is not vacuous: the instants sit on the local day's evening, past UTC midnight
    (Buenos Aires) or far from it (Los Angeles), and rows dated on the as-of day itself were read."""
    zone, _urls, _changed, warehouse, _result = variants
    hours = wh(
        warehouse,
        f"SELECT min(hour(timezone('{zone}', fecha))), count(*) FILTER "
        f"(WHERE CAST(timezone('{zone}', fecha) AS DATE) <> CAST(timezone('UTC', fecha) AS DATE)) "
        "FROM bronze.alumnos_hist_calidad WHERE source_db = 'v_timestamptz'",
    )[0]
    assert hours[0] >= 21
    if zone == "America/Argentina/Buenos_Aires":
        assert hours[1] > 0
    on_as_of = wh(
        warehouse,
        "SELECT count(*) FROM bronze.course_inscriptions WHERE source_db = 'v_timestamptz' "
        f"AND CAST(timezone('{zone}', fecha_inscripcion) AS DATE) = DATE '{AS_OF}'",
    )[0][0]
    assert on_as_of > 0


def test_the_adbc_and_csv_readers_give_the_same_rows_and_types(variants):
    """Every Guaraní query on every deployment variant: the binary (ADBC) reader's typed columns and the CSV
    reader's text renderings load the same rows, values and declared Arrow types."""
    zone, urls, _changed, _warehouse, _result = variants
    os.environ.update(DWH_TIMEZONE=zone, DWH_AS_OF=AS_OF)
    sources = [SourceDatabase(f"v_{kind}", url, "guarani") for kind, url in urls.items()]
    tables = [t for t in TABLES if t.kind == "guarani"]
    jobs = jobs_for(sources, tables, bronze_settings.incremental_start(), dt.date.fromisoformat(AS_OF))
    assert len(jobs) >= len(sources) * (len(tables) - 1)
    problems = {f"{job.source.name}.{job.table}": found for job in jobs if (found := compare(job))}
    assert not problems


def test_a_column_that_cannot_be_read_as_its_declared_type_fails_that_source_only(base_source, pg_admin_url, tmp_path):
    name = f"types_bad_{uuid.uuid4().hex[:8]}"
    bad = clone_database(pg_admin_url, base_source, name)
    try:
        execute(
            bad,
            "ALTER TABLE negocio.sga_perdida_regularidad ALTER COLUMN fecha_control_desde TYPE text "
            "USING to_char(fecha_control_desde, 'DD/MM/YYYY')",
        )
        config = write_config(tmp_path / "config.py", {"good": (base_source, "guarani"), "bad": (bad, "guarani")})
        warehouse = tmp_path / "warehouse.duckdb"
        result = run_bronze(config, warehouse, DWH_BRONZE_RESOURCES="students,perdida_regularidades")
        assert result.returncode == 1
        line = next(x for x in result.stderr.splitlines() if "source bad failed" in x)
        for part in ("perdida_regularidades", "fecha_control_desde", "text", "DATE"):
            assert part in line, line
        with duckdb.connect(str(warehouse), read_only=True) as con:
            by_source = dict(con.execute("SELECT source_db, count(*) FROM bronze.students GROUP BY 1").fetchall())
        assert by_source.get("good", 0) > 0 and "bad" not in by_source
        # The dry run finds it too, without loading anything.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__"))}
        env.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(tmp_path / "dry.duckdb"))
        dry = subprocess.run(
            [sys.executable, "-m", "dwh.main", "--dry-run", "--layer", "bronze", "--select", "perdida_regularidades"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert dry.returncode == 1
        failing = [x for x in dry.stdout.splitlines() if "FAILS" in x]
        assert len(failing) == 1 and "perdida_regularidades__bad" in failing[0] and "fecha_control_desde" in failing[0]
        assert not (tmp_path / "dry.duckdb").exists()
    finally:
        drop_database(pg_admin_url, name)
