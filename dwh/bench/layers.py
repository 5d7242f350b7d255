"""Silver and gold stages of the benchmark: each layer's build on the full bronze load, timed in a child process,
under the default memory cap and again uncapped (DWH_MEMORY_LIMIT=none) to price the cap."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dwh.bench.bronze import StageResult
from dwh.bench.measure import python_module, run_measured
from dwh.settings import DEFAULT_MEMORY_LIMIT, UNCAPPED

MODULES = {"silver": "dwh.pipelines.silver_transform", "gold": "dwh.pipelines.gold_aggregates"}
STAGE_NAMES = {"silver": "s silver build", "gold": "g gold build"}
UNCAPPED_NAMES = {"silver": "s' silver nocap", "gold": "g' gold nocap"}
BENCH_AS_OF = "2026-11-27"
TARGET_SECONDS = 30.0


def run_layer_stage(
    layer: str, warehouse: Path, log_path: Path, timeout: float | None = None, capped: bool = True
) -> StageResult:
    """`python -m dwh.pipelines.<layer>` on the benchmark warehouse, under the default DWH_MEMORY_LIMIT or
    (capped=False) with none; rows = the layer's rows built."""
    limit = DEFAULT_MEMORY_LIMIT if capped else UNCAPPED
    env = {"DWH_DUCKDB_PATH": str(warehouse), "DWH_AS_OF": BENCH_AS_OF, "DWH_MEMORY_LIMIT": limit}
    m = run_measured(python_module(MODULES[layer]), log_path, env=env, timeout=timeout)
    rows, problem = 0, ""
    if m.ok:
        with duckdb.connect(str(warehouse), read_only=True) as con:  # the bench reads what the layer recorded
            rows = (
                con.execute(
                    "SELECT sum(row_count) FROM dwh_meta.layer_tables WHERE run_id = (SELECT run_id "
                    "FROM dwh_meta.layer_runs WHERE layer = ? ORDER BY started_at DESC LIMIT 1)",
                    [layer],
                ).fetchone()[0]
                or 0
            )
    else:
        problem = f"exit {m.returncode}, see {m.log_path}"
    if not capped:
        return StageResult(UNCAPPED_NAMES[layer], int(rows), m, {"note": "DWH_MEMORY_LIMIT=none"}, problem)
    note = f"target < {TARGET_SECONDS:.0f} s: {'PASS' if m.ok and m.wall_s < TARGET_SECONDS else 'MISS'}"
    return StageResult(STAGE_NAMES[layer], int(rows), m, {"note": note}, problem)
