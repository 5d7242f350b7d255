"""Interventions: the application database (SQLite file and PostgreSQL), its audit, and the way back into gold."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bronze_support import wh, write_config

from dwh.app_db import AppDb, AppDbError, InvalidIntervention
from dwh.app_db.export import read_interventions
from dwh.settings import ConfigError, app_db_url, load_config

UTC = dt.timezone.utc
KEY_A = "a" * 32
KEY_B = "0123456789abcdef" * 2
AS_OF = "2025-11-27"
SECRET = "s3cret-pw"


def _record_history(db: AppDb) -> list[int]:
    """Student A: a phone call with a follow-up, then (recorded earlier, dated later) an e-mail; B: one visit."""
    ids = [
        db.registrar_intervencion(
            KEY_A,
            "tutora1",
            "2025-11-03",
            "telefono",
            "no_responde",
            "2025-11-10",
            "sin respuesta",
            registrada=dt.datetime(2025, 11, 20, 12, tzinfo=UTC),
        ),
        db.registrar_intervencion(
            KEY_A,
            "tutora1",
            dt.date(2025, 11, 5),
            "email",
            "contactado",
            dt.date(2025, 12, 1),
            registrada=dt.datetime(2025, 11, 6, 12, tzinfo=UTC),
        ),
        db.registrar_intervencion(KEY_B, "tutor2", dt.date(2025, 11, 1), "presencial", "derivado"),
    ]
    return ids


def _check_store(db: AppDb) -> None:
    ids = _record_history(db)
    assert ids == sorted(ids) and len(set(ids)) == 3
    latest = db.ultimas_intervenciones([KEY_B, KEY_A, "c" * 32])
    assert list(latest["alumno_key"]) == sorted([KEY_A, KEY_B])  # one row per student with any, by key
    a = latest.set_index("alumno_key").loc[KEY_A]
    # the latest contact date wins over the latest recording
    assert (a["id"], a["fecha"], a["canal"], a["resultado"]) == (ids[1], dt.date(2025, 11, 5), "email", "contactado")
    assert a["seguimiento"] == dt.date(2025, 12, 1) and a["registrada"] == dt.datetime(2025, 11, 6, 12, tzinfo=UTC)
    history = db.intervenciones_de(KEY_A)
    assert list(history["id"]) == [ids[1], ids[0]]
    assert list(history["nota"]) == ["", "sin respuesta"] and set(history["usuario"]) == {"tutora1"}
    assert db.intervenciones_de("d" * 32).empty
    assert list(db.intervenciones_de("d" * 32).columns) == list(history.columns)
    assert db.ultimas_intervenciones([]).empty
    # many keys at once (more than one chunk of bound parameters)
    many = [f"{i:032x}" for i in range(2500)] + [KEY_B]
    assert list(db.ultimas_intervenciones(many)["alumno_key"]) == [KEY_B]

    before = dt.datetime.now(UTC)
    db.auditar("tutora1", "ver_lista", "riesgo", [KEY_A, KEY_B], {"capacidad": 40, "propuesta": "Abogacía"})
    db.auditar("tutora1", "ver_alumno", "alumno", [KEY_A], None)
    audit = db.auditoria()
    assert list(audit["accion"]) == ["ver_lista", "ver_alumno"]
    first = audit.iloc[0]
    assert first["alumnos"] == [KEY_A, KEY_B] and first["n_alumnos"] == 2
    assert first["params"] == {"capacidad": 40, "propuesta": "Abogacía"} and first["usuario"] == "tutora1"
    assert first["momento"] >= before
    assert len(db.auditoria(desde=before)) == 2
    assert db.auditoria(desde=dt.date.today() + dt.timedelta(days=2)).empty


def test_sqlite_file_records_reads_and_survives_a_restart(tmp_path):
    path = tmp_path / "sub" / "app.sqlite"
    url = f"sqlite:///{path}"
    db = AppDb(url)
    _check_store(db)
    db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # a new process (a dashboard restart) sees the same rows; tables are not created twice
    again = AppDb(url)
    assert len(again.intervenciones_de(KEY_A)) == 2 and len(again.auditoria()) == 2
    again.close()


def test_postgresql_records_and_reads(fresh_database):
    url = fresh_database("app_db")
    far = dt.datetime(2100, 1, 1, tzinfo=UTC)
    assert read_interventions(url, far) == []  # no table yet: nobody recorded anything
    db = AppDb(url)
    _check_store(db)
    db.close()
    assert len(AppDb(url).ultimas_intervenciones([KEY_A, KEY_B])) == 2
    rows = read_interventions(url, dt.datetime(2025, 11, 20, 12, tzinfo=UTC))  # what bronze reads: before the instant
    assert [(r["alumno_key"], r["fecha"], r["canal"]) for r in rows] == [(KEY_A, dt.date(2025, 11, 5), "email")]
    assert set(rows[0]) == {"intervencion", "alumno_key", "fecha", "canal", "resultado", "seguimiento", "registrada"}
    assert len(read_interventions(url, far)) == 3


def test_invalid_values_are_all_named_and_nothing_is_written(tmp_path):
    db = AppDb(f"sqlite:///{tmp_path / 'app.sqlite'}")
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    with pytest.raises(InvalidIntervention) as info:
        db.registrar_intervencion("30111222", " ", tomorrow, "fax", "llamado", "2020-01-01", "x" * 5000)
    assert set(info.value.errores) == {"alumno_key", "usuario", "fecha", "canal", "resultado", "seguimiento", "nota"}
    assert "telefono" in info.value.errores["canal"] and "DNI" in info.value.errores["alumno_key"]
    with pytest.raises(InvalidIntervention) as info:
        db.registrar_intervencion(KEY_A, "t", "2025-11-10", "email", "contactado", "2025-11-09")
    assert set(info.value.errores) == {"seguimiento"}
    with pytest.raises(InvalidIntervention, match="fecha"):
        db.registrar_intervencion(KEY_A, "t", "10/11/2025", "email", "contactado")
    with pytest.raises(InvalidIntervention, match="fecha"):  # contacted after it was recorded
        db.registrar_intervencion(
            KEY_A, "t", "2025-11-10", "email", "contactado", registrada=dt.datetime(2025, 11, 9, 12, tzinfo=UTC)
        )
    with pytest.raises(InvalidIntervention, match="accion"):
        db.auditar("t", "borrar", "riesgo", [KEY_A], {})
    with pytest.raises(InvalidIntervention, match="alumnos"):  # a name is not a key: the audit holds no identity
        db.auditar("t", "ver_lista", "riesgo", ["Juan Pérez"], {})
    assert db.intervenciones_de(KEY_A).empty and db.auditoria().empty


def test_an_unreachable_database_is_named_without_its_password():
    db = AppDb(f"postgresql://tutor:{SECRET}@127.0.0.1:1/app")
    with pytest.raises(AppDbError) as info:
        db.registrar_intervencion(KEY_A, "t", "2025-11-10", "email", "contactado")
    message = str(info.value)
    assert "application database postgresql://tutor:***@127.0.0.1:1/app" in message
    assert "Connection refused" in message and SECRET not in message
    with pytest.raises(AppDbError, match="127.0.0.1:1/app"):
        db.ultimas_intervenciones([KEY_A])


def test_where_the_application_database_is(tmp_path, monkeypatch):
    monkeypatch.delenv("DWH_APP_DB", raising=False)
    assert app_db_url() == f"sqlite:///{tmp_path / 'app.sqlite'}"  # beside the test's warehouse
    monkeypatch.setenv("DWH_APP_DB", str(tmp_path / "x" / "tutores.sqlite"))
    assert AppDb.from_env().url == f"sqlite:///{tmp_path / 'x' / 'tutores.sqlite'}"
    monkeypatch.setenv("DWH_APP_DB", f"postgresql+psycopg2://u:{SECRET}@db/app")
    assert "***" in AppDb.from_env().name and SECRET not in repr(AppDb.from_env())
    monkeypatch.setenv("DWH_APP_DB", f"mysql://u:{SECRET}@db/app")
    with pytest.raises(ConfigError, match="DWH_APP_DB") as info:
        app_db_url()
    assert SECRET not in str(info.value)


def test_config_entries_of_kind_intervenciones(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_APP_DB", str(tmp_path / "app.sqlite"))
    config = tmp_path / "config.py"
    config.write_text(
        "SOURCE_DATABASES = [\n"
        "    {'name': 'intervenciones', 'kind': 'intervenciones'},\n"
        f"    {{'name': 'otra', 'kind': 'intervenciones', 'conn_string': 'sqlite:///{tmp_path}/b.sqlite'}},\n"
        "]\n"
    )
    first, second = load_config(config)
    assert first.conn_string == f"sqlite:///{tmp_path / 'app.sqlite'}" and first.kind == "intervenciones"
    assert second.conn_string == f"sqlite:///{tmp_path}/b.sqlite"
    for entry, expected in (
        ("{'name': 'g', 'kind': 'guarani', 'conn_string': 'sqlite:////tmp/a.sqlite'}", "must be a PostgreSQL URL"),
        ("{'name': 'g', 'kind': 'guarani'}", "missing key(s): conn_string"),
        ("{'name': 'i', 'kind': 'intervenciones', 'max_age_days': 3}", "max_age_days does not apply"),
        ("{'name': 'i', 'kind': 'intervenciones', 'conn_string': 'sqlite://'}", "must name a SQLite file"),
    ):
        config.write_text(f"SOURCE_DATABASES = [{entry}]\n")
        with pytest.raises(ConfigError) as info:
            load_config(config)
        assert expected in str(info.value)


# -- end to end: the dashboard records, the pipeline brings it into gold ------------------------------------------


def _main(workdir: Path, config: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(
        DWH_CONFIG=str(config),
        DWH_DUCKDB_PATH=str(workdir / "warehouse.duckdb"),
        DWH_AS_OF=AS_OF,
        DWH_HASH_SALT="interventions-salt",
    )
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "dwh.main"], env=env, capture_output=True, text=True, timeout=900, cwd=workdir
    )


@pytest.fixture(scope="module")
def university(make_synthetic, tmp_path_factory):
    url = make_synthetic(students=200, sources=1, years=3, seed=61, moodle=False)["guarani_a"]
    workdir = tmp_path_factory.mktemp("interventions")
    app = workdir / "app.sqlite"
    config = write_config(
        workdir / "config.py",
        {"guarani_a": (url, "guarani"), "intervenciones": (f"sqlite:///{app}", "intervenciones")},
    )
    first = _main(workdir, config)
    assert first.returncode == 0, first.stderr[-4000:]
    return workdir, config, url


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_intervention_reaches_bronze_and_the_gold_mart(university):
    workdir, config, _url = university
    published = workdir / "published" / "warehouse.duckdb"
    working = workdir / "warehouse.duckdb"  # bronze is not published
    # no intervention was ever recorded: the database does not exist and the tables are empty, not an error
    assert not (workdir / "app.sqlite").exists()
    assert wh(working, "SELECT count(*) FROM bronze.intervenciones") == [(0,)]
    assert wh(published, "SELECT count(*) FROM gold.mart_intervenciones") == [(0,)]
    (key,), (other,) = wh(published, "SELECT alumno_key FROM silver.dim_student ORDER BY alumno_key LIMIT 2")

    db = AppDb(f"sqlite:///{workdir / 'app.sqlite'}")
    _ids = [
        db.registrar_intervencion(
            key,
            "tutora1",
            "2025-11-03",
            "telefono",
            "no_responde",
            "2025-11-10",
            "no atiende",
            registrada=dt.datetime(2025, 11, 3, 18, tzinfo=UTC),
        ),
        db.registrar_intervencion(
            key,
            "tutora1",
            "2025-11-12",
            "mensajeria",
            "contactado",
            "2025-11-20",
            registrada=dt.datetime(2025, 11, 12, 14, tzinfo=UTC),
        ),
        # recorded at 23:30 on the as-of day in Buenos Aires (02:30 UTC the next day): still known on the as-of day
        db.registrar_intervencion(
            other,
            "tutor2",
            "2025-11-27",
            "presencial",
            "derivado",
            registrada=dt.datetime(2025, 11, 28, 2, 30, tzinfo=UTC),
        ),
        # recorded the day after the as-of date: a run as of 2025-11-27 does not know it yet
        db.registrar_intervencion(
            key, "tutora1", "2025-11-28", "email", "otro", registrada=dt.datetime(2025, 11, 28, 15, tzinfo=UTC)
        ),
    ]
    db.close()

    second = _main(workdir, config)
    assert second.returncode == 0, second.stderr[-4000:]
    bronze = wh(
        working,
        "SELECT source_db, alumno_key, fecha, canal, resultado, seguimiento FROM bronze.intervenciones "
        "ORDER BY intervencion",
    )
    assert bronze == [
        ("intervenciones", key, dt.date(2025, 11, 3), "telefono", "no_responde", dt.date(2025, 11, 10)),
        ("intervenciones", key, dt.date(2025, 11, 12), "mensajeria", "contactado", dt.date(2025, 11, 20)),
        ("intervenciones", other, dt.date(2025, 11, 27), "presencial", "derivado", None),
    ]
    columns = {r[0] for r in wh(working, "SELECT column_name FROM (DESCRIBE bronze.intervenciones)")}
    assert not columns & {"usuario", "nota"}, "no tutor name and no free note in the warehouse"
    mart = wh(
        published,
        "SELECT alumno_key, intervenciones, contactos_logrados, primera_fecha, ultima_fecha, ultimo_canal, "
        "ultimo_resultado, proximo_seguimiento, seguimiento_vencido, dias_desde_ultima, alumno_conocido "
        "FROM gold.mart_intervenciones ORDER BY alumno_key",
    )
    expected = {
        key: (key, 2, 1, dt.date(2025, 11, 3), dt.date(2025, 11, 12), "mensajeria", "contactado",
              dt.date(2025, 11, 20), True, 15, True),
        other: (other, 1, 0, dt.date(2025, 11, 27), dt.date(2025, 11, 27), "presencial", "derivado",
                None, False, 0, True),
    }  # fmt: skip
    assert mart == [expected[k] for k in sorted(expected)]
    log = wh(
        working,
        "SELECT status, row_count FROM bronze._dwh_load_log WHERE table_name = 'intervenciones' "
        "ORDER BY started_at DESC LIMIT 1",
    )
    assert log == [("loaded", 3)]

    # as of a later day, the fourth intervention is known and is the latest
    later = _main(workdir, config, DWH_AS_OF="2025-11-30", DWH_BRONZE_RESOURCES="intervenciones")
    assert later.returncode == 0, later.stderr[-4000:]
    assert wh(
        published, "SELECT intervenciones, ultimo_canal FROM gold.mart_intervenciones WHERE alumno_key = ?", [key]
    ) == [(3, "email")]


def test_an_unreachable_application_database_fails_the_run_and_keeps_the_published_copy(university):
    workdir, _config, url = university
    published = workdir / "published" / "warehouse.duckdb"
    before = _sha(published)
    bad = write_config(
        workdir / "bad_config.py",
        {
            "guarani_a": (url, "guarani"),
            "intervenciones": (f"postgresql://tutor:{SECRET}@127.0.0.1:1/app", "intervenciones"),
        },
    )
    proc = _main(workdir, bad)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "source intervenciones failed" in proc.stderr
    assert "table intervenciones: application database postgresql://tutor:***@127.0.0.1:1/app" in proc.stderr
    assert "Connection refused" in proc.stderr and SECRET not in proc.stderr + proc.stdout
    assert _sha(published) == before


def test_dry_run_reads_the_application_database(tmp_path):
    app = tmp_path / "app.sqlite"
    AppDb(f"sqlite:///{app}").registrar_intervencion(
        KEY_A, "t", "2025-11-10", "email", "contactado", registrada=dt.datetime(2025, 11, 10, 15, tzinfo=UTC)
    )
    config = write_config(tmp_path / "config.py", {"intervenciones": (f"sqlite:///{app}", "intervenciones")})
    proc = _main(tmp_path, config, DWH_BRONZE_RESOURCES="intervenciones")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # a key no student of the warehouse has (here there are none): kept, flagged, and only a warning
    mart = wh(
        tmp_path / "published" / "warehouse.duckdb",
        "SELECT alumno_key, intervenciones, alumno_conocido FROM gold.mart_intervenciones",
    )
    assert mart == [(KEY_A, 1, False)]
    before = subprocess.run(
        [sys.executable, "-m", "dwh.main", "--dry-run", "--layer", "bronze"],
        env={**os.environ, "DWH_CONFIG": str(config), "DWH_AS_OF": "2025-11-09"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert before.returncode == 0, before.stderr[-3000:]
    assert "intervenciones__intervenciones: full read" in before.stdout and "0 rows" in before.stdout
