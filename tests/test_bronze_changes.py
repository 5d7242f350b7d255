"""Change detection by row versions: old corrections, re-opened actas and deleted rows reach bronze and silver
on the next plain run; the version arithmetic survives wraparound; what cannot be compared is reloaded."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bronze_support import wh, wh_scalar, write_config
from pg_util import execute, query, scalar

from dwh.sources.changes import MAX_SPAN, SourceSnapshot, VersionRange, plan_versions, render

AS_OF = "2025-11-27"


def run_dwh(config: Path, warehouse: Path, **env: str) -> subprocess.CompletedProcess:
    """A plain nightly run, `python -m dwh.main`, as cron runs it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    full.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(warehouse), DWH_AS_OF=AS_OF, DWH_HASH_SALT="chg")
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "dwh.main"], env=full, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def loaded(make_synthetic, tmp_path_factory):
    urls = make_synthetic(students=300, sources=1, years=5, seed=23, moodle=False)
    base = tmp_path_factory.mktemp("changes")
    config = write_config(base / "config.py", {"guarani_a": (urls["guarani_a"], "guarani")})
    warehouse = base / "warehouse.duckdb"
    first = run_dwh(config, warehouse)
    assert first.returncode == 0, first.stderr[-3000:]
    return urls["guarani_a"], config, warehouse


def test_an_old_correction_a_reopened_acta_and_a_deleted_row_reach_bronze_and_silver(loaded):
    url, config, warehouse = loaded
    as_of = dt.date.fromisoformat(AS_OF)
    # (1) a final exam result more than two years old: its grade is corrected today
    id_acta, alumno, dwh_pk = query(
        url,
        """SELECT h.id_acta, h.alumno, md5(concat_ws('|', h.alumno, h.plan_version, h.elemento, h.instancia,
                  h.origen, CAST(h.fecha AS date)))
           FROM negocio.vw_hist_academica h
           WHERE CAST(h.fecha AS date) < :cut AND h.origen = 'E' AND h.nota IS NOT NULL AND h.nota <> '2'
           ORDER BY h.fecha, h.id_acta, h.alumno LIMIT 1""",
        cut=as_of - dt.timedelta(days=2 * 365),
    )[0]
    assert wh(warehouse, "SELECT count(*) FROM bronze.historia_academica WHERE dwh_pk = ?", [dwh_pk]) == [(1,)]
    execute(
        url, "UPDATE negocio.sga_actas_detalle SET nota = '2' WHERE id_acta = :i AND alumno = :a", i=id_acta, a=alumno
    )
    # (2) another old exam acta is re-opened: its results leave the academic history until it is closed again
    reopened = scalar(
        url,
        """SELECT min(ac.id_acta) FROM negocio.sga_actas ac
           WHERE ac.origen = 'E' AND ac.estado = 'C' AND ac.id_acta <> :i AND ac.fecha_generacion < :cut
             AND EXISTS (SELECT 1 FROM negocio.vw_hist_academica h WHERE h.id_acta = ac.id_acta)""",
        i=id_acta,
        cut=as_of - dt.timedelta(days=365),
    )
    reopened_rows = wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica WHERE id_acta = ?", [reopened])
    assert reopened_rows > 0
    execute(url, "UPDATE negocio.sga_actas SET estado = 'A' WHERE id_acta = :i", i=reopened)
    # (3) an old reinscription is deleted at the source
    deleted = scalar(url, "SELECT min(reinscripcion) FROM negocio.sga_reinscripciones")
    assert wh(warehouse, "SELECT count(*) FROM bronze.reinscripciones WHERE reinscripcion = ?", [deleted]) == [(1,)]
    execute(url, "DELETE FROM negocio.sga_reinscripciones WHERE reinscripcion = :r", r=deleted)
    bronze_before = wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica")

    second = run_dwh(config, warehouse)
    assert second.returncode == 0, second.stderr[-3000:]

    assert wh(warehouse, "SELECT nota FROM bronze.historia_academica WHERE dwh_pk = ?", [dwh_pk]) == [("2",)]
    assert wh(warehouse, "SELECT nota, nota_num FROM silver.fact_academic_performance WHERE dwh_pk = ?", [dwh_pk]) == [
        ("2", 2.0)
    ]
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica WHERE id_acta = ?", [reopened]) == 0
    assert (
        wh_scalar(warehouse, "SELECT count(*) FROM bronze.historia_academica")
        == bronze_before - reopened_rows
        == scalar(url, "SELECT count(*) FROM negocio.vw_hist_academica")
    )
    assert (
        wh_scalar(warehouse, "SELECT count(*) FROM silver.fact_academic_performance") == bronze_before - reopened_rows
    )
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones WHERE reinscripcion = ?", [deleted]) == 0
    assert (
        wh_scalar(warehouse, "SELECT count(*) FROM silver.fact_reinscription WHERE reinscripcion = ?", [deleted]) == 0
    )
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.reinscripciones") == scalar(
        url, "SELECT count(*) FROM negocio.sga_reinscripciones"
    )
    # read by versions: tonight's run read the changed acta's results, not the history again
    read = dict(
        wh(
            warehouse,
            "SELECT table_name, row_count FROM bronze._dwh_load_log WHERE run_id = "
            "(SELECT arg_max(run_id, started_at) FROM bronze._dwh_load_log)",
        )
    )
    assert 1 <= read["historia_academica"] < bronze_before / 10, read
    assert read["reinscripciones"] == 0, read
    assert "full read" not in second.stderr, second.stderr[-3000:]
    # the reconciliation is in the run log with what it deleted
    deleted_rows = dict(
        wh(
            warehouse,
            "SELECT table_name, row_count FROM dwh_meta.run_log WHERE step = 'reconcile' AND run_id = "
            "(SELECT arg_max(run_id, started_at) FROM dwh_meta.run_log)",
        )
    )
    assert deleted_rows["reinscripciones"] == 1, deleted_rows
    assert deleted_rows["perdida_regularidades"] == 0, deleted_rows


def test_a_source_whose_counter_went_back_is_reloaded_in_full():
    assert plan_versions(None, SourceSnapshot(100, 120)).versions is None
    assert plan_versions(None, SourceSnapshot(100, 120)).reload_reason is None
    back = plan_versions(5_000, SourceSnapshot(100, 120))
    assert back.versions is None and "restored or replaced" in (back.reload_reason or "")
    far = plan_versions(1_000, SourceSnapshot(1_000 + MAX_SPAN, 1_000 + MAX_SPAN + 5))
    assert far.versions is None and "wrapped" in (far.reload_reason or "")
    near = plan_versions(1_000, SourceSnapshot(1_000 + MAX_SPAN - 10, 1_000 + MAX_SPAN - 1))
    assert near.versions == VersionRange(1_000, 1_000 + MAX_SPAN - 1)


@pytest.mark.parametrize(
    ("since", "until", "changed", "unchanged"),
    [
        # an ordinary night: ids 1,000..1,200 are new
        (1_000, 1_200, [1_000, 1_100, 1_199], [999, 2, 4_000_000_000]),
        # the 32-bit counter wraps during the night: epoch 3's 4,294,967,000 .. epoch 4's 500
        ((3 << 32) + 4_294_967_000, (4 << 32) + 500, [4_294_967_000, 4_294_967_295, 3, 499], [4_294_966_999, 501]),
    ],
)
def test_the_version_test_is_exact_across_wraparound(pg_admin_url, since, until, changed, unchanged):
    versions = VersionRange(since, until)
    predicate = render("xid_changed(t)", versions).replace(":xid_low32", str(versions.params["xid_low32"]))
    predicate = predicate.replace(":xid_span", str(versions.params["xid_span"]))
    values = ", ".join(f"('{x}'::xid)" for x in changed + unchanged)
    got = query(pg_admin_url, f"SELECT xmin::text::bigint, {predicate} FROM (VALUES {values}) AS t(xmin)")
    assert {int(x) for x, hit in got if hit} == set(changed)
    assert render("xid_changed(t) OR xid_mode()", None) == "FALSE OR FALSE"
