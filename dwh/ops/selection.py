"""Which layers, bronze tables and SQL files a run covers, from --layer and --select."""

from __future__ import annotations

from dataclasses import dataclass, field

from dwh.layers.sql_files import SqlFile, layer_files
from dwh.settings import ConfigError
from dwh.sources.catalog import TABLES, BronzeTable

LAYERS = ("bronze", "silver", "gold")


@dataclass
class Selection:
    layers: list[str]
    bronze: list[BronzeTable]
    files: dict[str, list[SqlFile]] = field(default_factory=dict)

    @property
    def everything(self) -> bool:
        return (
            self.layers == list(LAYERS)
            and len(self.bronze) == len(TABLES)
            and all(len(self.files[layer]) == len(layer_files(layer)) for layer in ("silver", "gold"))
        )


def _file_names(sql_file: SqlFile) -> set[str]:
    stem = sql_file.name.removesuffix(".sql")
    return {stem, sql_file.name, sql_file.target, sql_file.target.split(".", 1)[1]}


def resolve(layers: list[str] | None, select: list[str] | None, bronze_default: list[BronzeTable]) -> Selection:
    """--layer limits the layers; --select names bronze tables and/or SQL files (by table, file or stem).

    Without --select every table and file of the chosen layers runs (bronze: DWH_BRONZE_RESOURCES). With
    --select, a layer runs only if something of it is selected.
    """
    chosen = list(LAYERS)
    if layers:
        unknown = [name for name in layers if name not in LAYERS]
        if unknown:
            raise ConfigError(f"--layer: unknown layer(s) {', '.join(unknown)}; valid: {', '.join(LAYERS)}")
        chosen = [name for name in LAYERS if name in layers]
    sql = {layer: layer_files(layer) for layer in ("silver", "gold")}
    if not select:
        return Selection(chosen, bronze_default if "bronze" in chosen else [], {k: sql[k] for k in chosen if k in sql})
    wanted = set(select)
    bronze = [t for t in TABLES if t.name in wanted or f"bronze.{t.name}" in wanted]
    # a layer's macro files (no grain) always run with it: the selected files call them
    files = {layer: [f for f in sql[layer] if _file_names(f) & wanted] for layer in sql}
    files = {
        layer: [f for f in sql[layer] if not f.grain or f in picked_files] if picked_files else []
        for layer, picked_files in files.items()
    }
    known = {t.name for t in TABLES} | {f"bronze.{t.name}" for t in TABLES}
    for layer_sql in sql.values():
        for f in layer_sql:
            known |= _file_names(f)
    unknown = sorted(wanted - known)
    if unknown:
        raise ConfigError(
            f"--select: unknown name(s) {', '.join(unknown)}; use bronze table names "
            f"({', '.join(t.name for t in TABLES)}) or SQL files / tables of silver and gold (e.g. dim_student)"
        )
    picked = [layer for layer in chosen if (layer == "bronze" and bronze) or files.get(layer)]
    return Selection(picked, bronze if "bronze" in picked else [], {k: files[k] for k in picked if k in files})
