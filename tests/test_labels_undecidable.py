"""A source without its graduates table: the run publishes gold without the label tables and exits 1, until
seed_label_params accepts it; then the labels are built and say their graduates may count as dropouts."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
from bronze_support import write_config
from pg_util import execute

LABEL_TABLES = ("gold_tft_training_dataset", "gold_tft_inference_frame", "gold_tft_feature_roles")


@pytest.fixture(scope="module")
def source(make_synthetic) -> str:
    url = make_synthetic(students=300, sources=1, years=4, seed=17, moodle=False)["guarani_a"]
    # an older deployment without the certificates tables
    execute(url, "DROP TABLE negocio.sga_certificados_otorg")
    execute(url, "DROP TABLE negocio.sga_certificados")
    return url


def _run(tmp_path, url: str, **env: str) -> subprocess.CompletedProcess:
    config = write_config(tmp_path / "config.py", {"guarani_a": (url, "guarani")})
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__"))}
    full.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(tmp_path / "w.duckdb"), DWH_AS_OF="2025-11-27", **env)
    return subprocess.run([sys.executable, "-m", "dwh.main"], env=full, capture_output=True, text=True, timeout=600)


def _gold_tables(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold'").fetchall()
    return {r[0] for r in rows}


def test_the_labels_are_not_built_and_the_run_says_why(source, tmp_path):
    proc = _run(tmp_path, source)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "gold built without its label tables" in proc.stderr
    assert "guarani_a" in proc.stderr and "aceptar_sin_egresados" in proc.stderr
    published = tmp_path / "published" / "w.duckdb"
    tables = _gold_tables(published)
    assert {"mart_student_academic_summary", "mart_cohort_analysis", "gold_tft_temporal_features"} <= tables
    assert not tables & set(LABEL_TABLES)
    with duckdb.connect(str(published), read_only=True) as con:
        guard = con.execute(
            "SELECT test, status FROM dwh_meta.data_test_results WHERE table_name = 'gold.gold_tft_label_sources' "
            "AND status = 'fail'"
        ).fetchall()
    assert guard, "the guard's error-level test is recorded as failed"


def test_accepting_it_builds_the_labels_marked_incomplete(source, tmp_path):
    seeds = tmp_path / "seeds" / "gold"
    seeds.mkdir(parents=True)
    (seeds / "label_params.csv").write_text(
        "nombre,valor,descripcion\nhorizonte_semestres,2,n\nperdida_regularidad_es_abandono,1,p\n"
        "aceptar_sin_egresados,1,accepted\n",
        encoding="utf-8",
    )
    proc = _run(tmp_path, source, DWH_SEEDS_DIR=str(tmp_path / "seeds"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    published = tmp_path / "published" / "w.duckdb"
    assert set(LABEL_TABLES) <= _gold_tables(published)
    with duckdb.connect(str(published), read_only=True) as con:
        marks = con.execute(
            "SELECT DISTINCT egresados_incompletos FROM gold.gold_tft_training_dataset "
            "UNION SELECT DISTINCT egresados_incompletos FROM gold.gold_tft_inference_frame"
        ).fetchall()
        rows = con.execute("SELECT count(*) FROM gold.gold_tft_training_dataset").fetchone()[0]
    assert marks == [("1",)] and rows > 100
