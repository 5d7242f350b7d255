"""The layer kernel: SQL files and headers, the one-transaction runner, session setup, data tests, lineage.

It knows nothing of operations (dwh.ops), the dashboard or ML; they build on it.
"""

from dwh.layers.bronze_schema import bronze_placeholders
from dwh.layers.data_tests import TestResult, run_tests
from dwh.layers.lineage import Lineage, parse_lineage
from dwh.layers.runner import (
    META,
    DataTestError,
    LabelsNotBuilt,
    LayerRun,
    SqlRunError,
    build_layer,
    seed_paths,
    summary,
)
from dwh.layers.session import configure_session, load_seeds, prepare_layer
from dwh.layers.sql_files import SQL_ROOT, DataTest, SqlFile, SqlLayerError, layer_files, parse_header

__all__ = [
    "META",
    "SQL_ROOT",
    "DataTest",
    "DataTestError",
    "LabelsNotBuilt",
    "LayerRun",
    "Lineage",
    "SqlFile",
    "SqlLayerError",
    "SqlRunError",
    "TestResult",
    "bronze_placeholders",
    "build_layer",
    "configure_session",
    "layer_files",
    "load_seeds",
    "parse_header",
    "parse_lineage",
    "prepare_layer",
    "run_tests",
    "seed_paths",
    "summary",
]
