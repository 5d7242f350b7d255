"""Nightly runs: late and back-dated rows and in-place corrections arrive exactly once; state is per source."""

from __future__ import annotations

import datetime as dt

import pytest
from bronze_support import run_bronze, wh, wh_scalar, write_config
from pg_util import execute, query, scalar


@pytest.fixture(scope="module")
def nightly(make_synthetic, tmp_path_factory):
    """One Guaraní source loaded once; tests then change the source and run bronze again."""
    urls = make_synthetic(students=300, sources=1, years=3, seed=21, moodle=False)
    base = tmp_path_factory.mktemp("bronze_nightly")
    config = write_config(base / "config.py", {"guarani_a": (urls["guarani_a"], "guarani")})
    warehouse = base / "warehouse.duckdb"
    result = run_bronze(config, warehouse)
    assert result.returncode == 0, result.stderr[-3000:]
    return urls["guarani_a"], config, warehouse


def _rerun(config, warehouse) -> None:
    result = run_bronze(config, warehouse)
    assert result.returncode == 0, result.stderr[-3000:]


def test_late_rows_on_the_last_day_and_back_dated_rows_arrive_once(nightly):
    url, config, warehouse = nightly
    last_day = scalar(url, "SELECT max(fecha) FROM negocio.sga_perdida_regularidad")
    alumno = scalar(url, "SELECT min(alumno) FROM negocio.sga_alumnos")
    execute(
        url,
        "INSERT INTO negocio.sga_perdida_regularidad (perdida_regularidad, alumno, anio_academico, fecha) "
        "VALUES (900001, :a, 2024, :same_day), (900002, :a, 2024, :back_dated)",
        a=alumno,
        same_day=last_day,
        back_dated=last_day - dt.timedelta(days=10),
    )
    last_reins = scalar(url, "SELECT max(fecha_reinscripcion) FROM negocio.sga_reinscripciones")
    execute(
        url,
        "INSERT INTO negocio.sga_reinscripciones (reinscripcion, alumno, anio_academico, "
        "fecha_reinscripcion) VALUES (900001, :a, 2025, :t)",
        a=alumno,
        t=last_reins - dt.timedelta(hours=5),
    )
    _rerun(config, warehouse)
    _rerun(config, warehouse)
    got = wh(
        warehouse,
        "SELECT perdida_regularidad, count(*) FROM bronze.perdida_regularidades "
        "WHERE perdida_regularidad >= 900001 GROUP BY 1 ORDER BY 1",
    )
    assert got == [(900001, 1), (900002, 1)]
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones WHERE reinscripcion = 900001") == 1
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.perdida_regularidades") == scalar(
        url, "SELECT count(*) FROM negocio.sga_perdida_regularidad"
    )


def test_a_grade_correction_inside_the_window_updates_the_row(nightly):
    url, config, warehouse = nightly
    # The newest final results (inside the 60-day window of the last loaded day).
    row = query(
        url,
        """
        SELECT id_acta, alumno, resultado FROM negocio.vw_hist_academica
        WHERE fecha >= (SELECT max(fecha) - 30 FROM negocio.vw_hist_academica) ORDER BY id_acta, alumno LIMIT 1""",
    )[0]
    id_acta, alumno, resultado = row
    before = wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica")
    execute(
        url,
        "UPDATE negocio.sga_actas_detalle SET nota = '9,50' WHERE id_acta = :i AND alumno = :a",
        i=id_acta,
        a=alumno,
    )
    _rerun(config, warehouse)
    rows = wh(
        warehouse,
        "SELECT nota, resultado FROM bronze.historia_academica WHERE id_acta = ? AND alumno = ?",
        [id_acta, alumno],
    )
    assert rows == [("9,50", resultado)]
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica") == before


def test_a_status_change_inside_the_window_updates_the_row(nightly):
    url, config, warehouse = nightly
    inscripcion = scalar(
        url, "SELECT inscripcion FROM negocio.sga_insc_cursada ORDER BY fecha_inscripcion DESC, inscripcion LIMIT 1"
    )
    execute(url, "UPDATE negocio.sga_insc_cursada SET estado = 'B' WHERE inscripcion = :i", i=inscripcion)
    _rerun(config, warehouse)
    assert wh(
        warehouse, "SELECT estado_inscripcion FROM bronze.course_inscriptions WHERE inscripcion_id = ?", [inscripcion]
    ) == [("B",)]


def test_a_source_added_later_with_older_dates_gets_all_its_rows(make_synthetic, nightly, tmp_path):
    url_a, _config, warehouse = nightly
    older = make_synthetic(students=150, sources=1, years=2, seed=5, moodle=False, until=dt.date(2022, 11, 30))
    config = write_config(
        tmp_path / "config.py", {"guarani_a": (url_a, "guarani"), "guarani_old": (older["guarani_a"], "guarani")}
    )
    _rerun(config, warehouse)
    for table, sql in (
        ("reinscripciones", "SELECT count(*) FROM negocio.sga_reinscripciones"),
        ("course_inscriptions", "SELECT count(*) FROM negocio.sga_insc_cursada"),
        ("historia_academica", "SELECT count(*) FROM negocio.vw_hist_academica"),
    ):
        expected = scalar(older["guarani_a"], sql)
        assert wh_scalar(warehouse, f"SELECT count(*) FROM bronze.{table} WHERE source_db = 'guarani_old'") == expected
    newest_old = wh_scalar(
        warehouse, "SELECT max(fecha_inscripcion) FROM bronze.course_inscriptions WHERE source_db = 'guarani_old'"
    )
    newest_a = wh_scalar(
        warehouse, "SELECT max(fecha_inscripcion) FROM bronze.course_inscriptions WHERE source_db = 'guarani_a'"
    )
    assert newest_old < newest_a
