"""DWH_MEMORY_LIMIT: one cap for every DuckDB connection, opened only through dwh.duck, spilling beside the
warehouse; a stage that runs out of memory says which one and how to raise the cap."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import duckdb
import pytest

from dwh import duck
from dwh.pipelines import bronze_settings
from dwh.settings import ConfigError, RunSettings, memory_limit, size_bytes

PACKAGE = Path(__file__).resolve().parent.parent / "dwh"
# The benchmark and the synthetic generator measure and build sources; they are not the warehouse's code.
OUTSIDE = ("bench", "synthetic")


def _connect_calls(path: Path) -> list[int]:
    """Lines of `duckdb.connect(...)` calls (any alias of the module, or `from duckdb import connect`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {"duckdb"}
    direct = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "duckdb"}
        elif isinstance(node, ast.ImportFrom) and node.module == "duckdb":
            direct |= {a.asname or a.name for a in node.names if a.name == "connect"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "connect" and isinstance(f.value, ast.Name):
            if f.value.id in aliases:
                lines.append(node.lineno)
        elif isinstance(f, ast.Name) and f.id in direct:
            lines.append(node.lineno)
    return lines


def test_only_dwh_duck_opens_duckdb_connections():
    found = {
        str(p.relative_to(PACKAGE)): lines
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] not in OUTSIDE and (lines := _connect_calls(p))
    }
    assert found == {"duck.py": found.get("duck.py")} and found["duck.py"], found


def test_the_static_rule_sees_real_calls(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import duckdb as d\nfrom duckdb import connect\nd.connect()\nconnect('x')\n")
    assert _connect_calls(sample) == [3, 4]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("", "1GB"), ("1GB", "1GB"), ("512MB", "512MB"), ("1.5GB", "1.5GB"), (" 2 gib ", "2GiB"), ("none", None)],
)
def test_the_limit_is_a_duckdb_size_or_none(raw, parsed):
    assert memory_limit({"DWH_MEMORY_LIMIT": raw}) == parsed
    assert RunSettings.from_env({"DWH_MEMORY_LIMIT": raw}).memory_limit == parsed


@pytest.mark.parametrize("raw", ["1", "lots", "1.GB", "-1GB", "1XB", "0MB", "100KB"])
def test_a_bad_limit_is_a_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match="DWH_MEMORY_LIMIT"):
        memory_limit({"DWH_MEMORY_LIMIT": raw})


def test_sizes_are_read_as_duckdb_reads_them():
    assert size_bytes("1GB") == 10**9 and size_bytes("1GiB") == 2**30 and size_bytes("1.5 mb") == 1_500_000


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    return con.execute("SELECT current_setting(?)", [name]).fetchone()[0]


def _duckdb_reads(limit: str) -> str:
    """How DuckDB itself shows a limit (it reports 1GB as 953.6 MiB)."""
    with duckdb.connect() as con:
        con.execute("SET memory_limit = ?", [limit])
        return _setting(con, "memory_limit")


@pytest.mark.parametrize("read_only", [False, True])
def test_a_connection_is_capped_and_spills_beside_the_warehouse(tmp_path, monkeypatch, read_only):
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    monkeypatch.setenv("DWH_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("DWH_MEMORY_LIMIT", "1.5GB")
    with duck.connect(warehouse, read_only=read_only, stage="test") as con:
        assert _setting(con, "memory_limit") == _duckdb_reads("1.5GB")
        assert _setting(con, "temp_directory") == str(tmp_path / "w.duckdb.tmp")
        assert _setting(con, "max_temp_directory_size") == _duckdb_reads(duck.MAX_TEMP_DIRECTORY_SIZE)
    with duck.connect(stage="test") as con:  # in memory: beside the warehouse too
        assert _setting(con, "temp_directory") == str(tmp_path / "w.duckdb.tmp")
        assert _setting(con, "memory_limit") == _duckdb_reads("1.5GB")


def test_the_default_is_1gb_and_none_leaves_duckdbs_own(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("DWH_MEMORY_LIMIT", raising=False)
    with duck.connect(stage="test") as con:
        assert _setting(con, "memory_limit") == _duckdb_reads("1GB")
    monkeypatch.setenv("DWH_MEMORY_LIMIT", "none")
    with duck.connect(stage="test") as con, duckdb.connect() as plain:
        assert _setting(con, "memory_limit") == _setting(plain, "memory_limit")


def test_a_second_connection_to_a_file_that_spilled_keeps_its_directory(tmp_path, monkeypatch):
    """DuckDB refuses to switch a temporary directory once used, even to the same value."""
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("DWH_DUCKDB_PATH", str(warehouse))
    with duck.connect(warehouse, stage="test", limit="64MB") as first:
        first.execute("CREATE TABLE t AS SELECT range AS i, random() AS r FROM range(3000000) ORDER BY r")
        assert (tmp_path / "w.duckdb.tmp").is_dir()
        with duck.connect(warehouse, stage="test", limit="64MB") as second:
            assert second.execute("SELECT count(*) FROM t").fetchone() == (3_000_000,)
    assert not (tmp_path / "w.duckdb.tmp").exists()  # DuckDB removes what it spilled


def test_dlts_duckdb_follows_the_limit(tmp_path):
    env = {"DWH_DUCKDB_PATH": str(tmp_path / "w.duckdb"), "DWH_MEMORY_LIMIT": "2GB"}
    config = json.loads(bronze_settings.configure_dlt(env)[bronze_settings.DUCKDB_CONFIG])
    assert config == {
        "threads": 2,
        "preserve_insertion_order": False,
        "memory_limit": "2GB",
        "temp_directory": str(tmp_path / "w.duckdb.tmp"),
        "max_temp_directory_size": duck.MAX_TEMP_DIRECTORY_SIZE,
    }
    assert env[bronze_settings.DUCKDB_CONFIG] == json.dumps(config)
    env["DWH_MEMORY_LIMIT"] = "none"  # a second call follows the new value, not the first one's
    assert "memory_limit" not in json.loads(bronze_settings.configure_dlt(env)[bronze_settings.DUCKDB_CONFIG])


def test_an_out_of_memory_error_is_recognised_through_wrappers(tmp_path):
    with duck.connect(stage="test", limit="8MB", warehouse=tmp_path / "w.duckdb") as con:
        with pytest.raises(duckdb.OutOfMemoryException) as caught:
            con.execute("SELECT list(range) FROM range(20000000)").fetchall()
    try:
        try:
            raise caught.value
        except duckdb.Error as exc:
            raise RuntimeError("gold.sql, statement 1") from exc
    except RuntimeError as wrapped:
        detail = duck.out_of_memory(wrapped)
    assert detail is not None and detail.startswith("Out of Memory Error")
    assert duck.out_of_memory(RuntimeError("a text-only wrapper: Out of Memory Error: failed")) is not None
    assert duck.out_of_memory(duckdb.IOException("disk")) is None
    message = duck.out_of_memory_message("gold", "1GB", detail)
    assert message.startswith(
        "stage gold ran out of memory under DWH_MEMORY_LIMIT=1GB: raise it (for example DWH_MEMORY_LIMIT=2GB) "
        "or free memory"
    )
    assert "DWH_MEMORY_LIMIT=3GB" in duck.out_of_memory_message("silver", "1.5GB")
    assert "DWH_MEMORY_LIMIT=none" in duck.out_of_memory_message("silver", None)
