"""The layer runner: whole-file scripts, one transaction, parameters, seeds and data tests."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from bronze_fixture import empty_bronze

from dwh.layers.runner import DataTestError, SqlRunError, build_layer, seed_paths
from dwh.layers.sql_files import SqlLayerError, layer_files

AS_OF = dt.date(2025, 3, 1)


def write(root: Path, layer: str, files: dict[str, str]) -> Path:
    directory = root / layer
    directory.mkdir(parents=True, exist_ok=True)
    for name in directory.glob("*.sql"):
        name.unlink()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return root


def header(target: str, grain: str, *tests: str) -> str:
    return f"-- target:   {target}\n-- grain:    {grain}\n-- upstream: -\n" + "".join(
        f"-- test:     {t}\n" for t in tests
    )


def q(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_file_runs_as_a_whole_script_with_semicolons_in_strings_and_comments(tmp_path):
    root = write(
        tmp_path,
        "lab",
        {
            "01_a.sql": header("lab.a", "id")
            + (
                "-- a comment; with a semicolon\n"
                "CREATE OR REPLACE TABLE lab.a AS SELECT 1 AS id, 'x;y' AS txt;\n"
                "INSERT INTO lab.a VALUES (2, 'it''s; fine');\n"
            )
        },
    )
    warehouse = tmp_path / "w.duckdb"
    run = build_layer(warehouse, "lab", AS_OF, files=layer_files("lab", root))
    assert q(warehouse, "SELECT id, txt FROM lab.a ORDER BY id") == [(1, "x;y"), (2, "it's; fine")]
    assert run.tables == {"lab.a": 2}
    assert q(warehouse, "SELECT table_name, row_count FROM dwh_meta.layer_tables") == [("lab.a", 2)]


def test_files_run_in_numeric_order_and_read_the_as_of_parameter(tmp_path):
    root = write(
        tmp_path,
        "lab",
        {
            "10_b.sql": header("lab.b", "d") + "CREATE OR REPLACE TABLE lab.b AS SELECT d + 1 AS d FROM lab.a;",
            "2_a.sql": header("lab.a", "d") + "CREATE OR REPLACE TABLE lab.a AS SELECT getvariable('as_of') AS d;",
        },
    )
    warehouse = tmp_path / "w.duckdb"
    build_layer(warehouse, "lab", AS_OF, files=layer_files("lab", root))
    assert q(warehouse, "SELECT d FROM lab.b") == [(dt.date(2025, 3, 2),)]


def test_a_failing_statement_names_the_file_and_leaves_the_previous_layer(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    good = write(
        tmp_path / "good",
        "lab",
        {
            "01_a.sql": header("lab.a", "id") + "CREATE OR REPLACE TABLE lab.a AS SELECT 1 AS id;",
            "02_b.sql": header("lab.b", "id") + "CREATE OR REPLACE TABLE lab.b AS SELECT 10 AS id;",
        },
    )
    build_layer(warehouse, "lab", AS_OF, files=layer_files("lab", good))
    bad = write(
        tmp_path / "bad",
        "lab",
        {
            "01_a.sql": header("lab.a", "id") + "CREATE OR REPLACE TABLE lab.a AS SELECT 2 AS id;",
            "02_b.sql": header("lab.b", "id") + "CREATE OR REPLACE TABLE lab.b AS SELECT 20 AS id;\n"
            "SELECT * FROM lab.does_not_exist;",
        },
    )
    with pytest.raises(SqlRunError) as err:
        build_layer(warehouse, "lab", AS_OF, files=layer_files("lab", bad))
    assert "02_b.sql" in str(err.value) and "statement 2" in str(err.value) and "does_not_exist" in str(err.value)
    assert q(warehouse, "SELECT id FROM lab.a") == [(1,)]
    assert q(warehouse, "SELECT id FROM lab.b") == [(10,)]
    assert q(warehouse, "SELECT status FROM dwh_meta.layer_runs ORDER BY started_at") == [("ok",), ("failed",)]


def test_a_syntax_error_names_the_file(tmp_path):
    root = write(tmp_path, "lab", {"01_a.sql": header("lab.a", "id") + "CREATE TABLE lab.a AS SELEC 1 AS id;"})
    with pytest.raises(SqlRunError, match="01_a.sql"):
        build_layer(tmp_path / "w.duckdb", "lab", AS_OF, files=layer_files("lab", root))


def test_an_error_level_data_test_aborts_and_is_recorded_and_a_warning_does_not(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    root = write(
        tmp_path,
        "lab",
        {
            "01_a.sql": header(
                "lab.a", "id", "accepted_values(code: 'A', 'P') warn", "expression(id > 0)", "row_count(>= 1)"
            )
            + "CREATE OR REPLACE TABLE lab.a AS SELECT * FROM (VALUES (1, 'A'), (2, 'X')) t(id, code);"
        },
    )
    run = build_layer(warehouse, "lab", AS_OF, files=layer_files("lab", root))
    assert {(t.test, t.status, t.failing) for t in run.tests if t.status != "pass"} == {
        ("accepted_values(code: 'A', 'P')", "warn", 1)
    }
    write(
        tmp_path,
        "lab",
        {
            "01_a.sql": header("lab.a", "id")
            + "CREATE OR REPLACE TABLE lab.a AS SELECT * FROM (VALUES (1), (1), (NULL)) t(id);"
        },
    )
    with pytest.raises(DataTestError, match=r"unique\(id\)"):
        build_layer(warehouse, "lab", AS_OF, files=layer_files("lab", tmp_path))
    assert q(warehouse, "SELECT count(*) FROM lab.a") == [(2,)]  # the previous build stays
    failed = q(
        warehouse, "SELECT test, status, failing FROM dwh_meta.data_test_results WHERE status = 'fail' ORDER BY test"
    )
    assert failed == [("not_null(id)", "fail", 1), ("unique(id)", "fail", 1)]


def test_relationship_tests_find_orphans(tmp_path):
    root = write(
        tmp_path,
        "lab",
        {
            "01_p.sql": header("lab.p", "k") + "CREATE OR REPLACE TABLE lab.p AS SELECT 1 AS k;",
            "02_c.sql": header("lab.c", "id", "relationship(k -> lab.p(k))")
            + "CREATE OR REPLACE TABLE lab.c AS SELECT * FROM (VALUES (1, 1), (2, 9), (3, NULL)) t(id, k);",
        },
    )
    with pytest.raises(DataTestError, match="relationship"):
        build_layer(tmp_path / "w.duckdb", "lab", AS_OF, files=layer_files("lab", root))


def test_missing_empty_or_misnamed_directories_are_errors(tmp_path):
    with pytest.raises(SqlLayerError, match="does not exist"):
        layer_files("nothing", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SqlLayerError, match="no .sql files"):
        layer_files("empty", tmp_path)
    write(tmp_path, "odd", {"dim_x.sql": header("odd.x", "id")})
    with pytest.raises(SqlLayerError, match="NN_name.sql"):
        layer_files("odd", tmp_path)
    write(tmp_path, "nohead", {"01_x.sql": "CREATE TABLE x AS SELECT 1;"})
    with pytest.raises(SqlLayerError, match="target"):
        layer_files("nohead", tmp_path)


def test_seeds_are_replaceable_by_a_directory(tmp_path, monkeypatch):
    assert {"result_codes", "text_grades", "site_classification", "settings"} <= set(seed_paths("silver"))
    (tmp_path / "silver").mkdir()
    (tmp_path / "silver" / "result_codes.csv").write_text("resultado,categoria,descripcion\nA,aprobado,x\n")
    monkeypatch.setenv("DWH_SEEDS_DIR", str(tmp_path))
    assert seed_paths("silver")["result_codes"] == tmp_path / "silver" / "result_codes.csv"


def _silver_cli(warehouse: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "DWH_DUCKDB_PATH": str(warehouse), **env}
    return subprocess.run(
        [sys.executable, "-m", "dwh.pipelines.silver_transform"], env=full, capture_output=True, text=True, timeout=300
    )


def test_silver_command_exit_codes(tmp_path):
    warehouse = empty_bronze(tmp_path / "w.duckdb")
    ok = _silver_cli(warehouse, DWH_AS_OF="2025-03-01")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert q(warehouse, "SELECT as_of, status FROM dwh_meta.layer_runs") == [(dt.date(2025, 3, 1), "ok")]
    bad_date = _silver_cli(warehouse, DWH_AS_OF="2025-02-30")
    assert bad_date.returncode == 2 and "DWH_AS_OF" in bad_date.stderr
    missing = _silver_cli(tmp_path / "nowhere.duckdb", DWH_AS_OF="2025-03-01")
    assert missing.returncode == 1 and "bronze" in missing.stderr
