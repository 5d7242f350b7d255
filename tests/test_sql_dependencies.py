"""Every layer's SQL, as parsed by sqlglot: headers tell the truth and no file reads ahead or upwards."""

from __future__ import annotations

import pytest

from dwh.layers.lineage import parse_lineage
from dwh.layers.sql_files import SQL_ROOT, layer_files

ALLOWED_READS = {"silver": ("bronze.", "silver."), "gold": ("silver.", "gold.")}
# Gold creates ml.predicciones (and its schema) empty until `python -m dwh.ml predict` writes it, so that the
# view gold.riesgo_actual can read it: the one object a layer creates outside its own schema.
CREATED_OUTSIDE = {"gold": {"ml.", "ml.predicciones"}}
LAYERS = [layer for layer in ALLOWED_READS if (SQL_ROOT / layer).is_dir() and any((SQL_ROOT / layer).glob("*.sql"))]


@pytest.mark.parametrize("layer", LAYERS)
def test_files_read_only_their_own_layer_and_the_one_below(layer):
    for sql_file in layer_files(layer):
        lineage = parse_lineage(sql_file)
        wrong = [r for r in lineage.reads if not r.startswith(ALLOWED_READS[layer])]
        assert not wrong, f"{sql_file.name} reads {wrong}"
        outside = {c for c in lineage.created if not c.startswith(f"{layer}.")}
        assert outside <= CREATED_OUTSIDE.get(layer, set()), sql_file.name


@pytest.mark.parametrize("layer", LAYERS)
def test_no_file_reads_a_table_a_later_file_builds(layer):
    files = layer_files(layer)
    built_by = {}
    for position, sql_file in enumerate(files):
        for name in parse_lineage(sql_file).created:
            built_by[name] = position
    for position, sql_file in enumerate(files):
        for read in parse_lineage(sql_file).reads:
            assert built_by.get(read, -1) < position, f"{sql_file.name} reads {read}, built later"


@pytest.mark.parametrize("layer", LAYERS)
def test_headers_declare_the_target_and_every_table_read(layer):
    for sql_file in layer_files(layer):
        lineage = parse_lineage(sql_file)
        if sql_file.grain:
            assert sql_file.target in lineage.created, f"{sql_file.name} does not build {sql_file.target}"
        undeclared = lineage.reads - set(sql_file.upstream)
        assert not undeclared, f"{sql_file.name}: header misses {sorted(undeclared)}"
        # A seed may be declared without a direct read: macros such as silver.setting() read it.
        stale = {u for u in sql_file.upstream if u != "-"} - lineage.reads
        assert all(".seed_" in u for u in stale), f"{sql_file.name}: header lists unread {sorted(stale)}"
