"""Gold: build the data marts and the TFT feature store (schema `gold`) from silver with dwh/sql/gold."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from dwh import duck
from dwh.layers import DataTestError, LabelsNotBuilt, LayerRun, SqlFile, SqlRunError, build_layer, layer_files
from dwh.settings import RunSettings

REQUIRED_SILVER = ("dim_student", "fact_dropout", "dim_periodo", "cobertura_fuentes")
# Whether each source's labels can be decided (its error test), and the tables that hold labels.
LABEL_GUARD = "gold.gold_tft_label_sources"
LABEL_TABLES = (
    LABEL_GUARD,
    "gold.gold_tft_training_dataset",
    "gold.gold_tft_inference_frame",
    "gold.gold_tft_feature_roles",
)
# Views over the label tables, left out with them (the dashboard then reads the tables that are there).
LABEL_VIEWS = ("gold.riesgo_actual",)


def silver_missing(warehouse: Path) -> list[str]:
    """The silver tables gold needs that the warehouse lacks."""
    with duck.connect(str(warehouse), read_only=True, stage="gold") as con:
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'"
            ).fetchall()
        }
    return [t for t in REQUIRED_SILVER if t not in present]


def _migrations(warehouse: Path) -> list[str]:
    """Statements that bring an older gold to the current objects, run inside the build's transaction:
    the inference frame was a view before it became a table."""
    with duck.connect(str(warehouse), read_only=True, stage="gold") as con:
        views = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold' AND table_type = 'VIEW'"
        ).fetchall()
    return [f"DROP VIEW gold.{name}" for (name,) in views if name == "gold_tft_inference_frame"]


def build(
    warehouse: Path, as_of: dt.date, files: list[SqlFile] | None = None, settings: RunSettings | None = None
) -> LayerRun:
    """Build gold (all files, or the given ones) in one transaction; raises on any failure.

    When the only failing data test is the label guard's (a source without its graduates table, not
    accepted in seed_label_params), gold is built again without the label tables, which are dropped, and
    LabelsNotBuilt is raised after that build has committed: the marts and features are current, and the
    caller reports the labels as not built.
    """
    missing = silver_missing(warehouse)
    if missing:
        raise SqlRunError(
            f"silver is not built in {warehouse} (missing {', '.join('silver.' + t for t in missing)}): "
            "run python -m dwh.pipelines.silver_transform first"
        )
    migrations = _migrations(warehouse)
    try:
        return build_layer(warehouse, "gold", as_of, files=files, prepare=migrations, settings=settings)
    except DataTestError as exc:
        if not exc.failed or any(t.table != LABEL_GUARD for t in exc.failed):
            raise
        undecidable = exc.failed[0].sample
    selected = files if files is not None else layer_files("gold")
    without_labels = [f for f in selected if f.target not in LABEL_TABLES + LABEL_VIEWS]
    drops = migrations + [f"DROP VIEW IF EXISTS {v}" for v in LABEL_VIEWS]
    drops += [f"DROP TABLE IF EXISTS {t}" for t in LABEL_TABLES]
    run = build_layer(warehouse, "gold", as_of, files=without_labels, prepare=drops, settings=settings)
    raise LabelsNotBuilt(
        "gold built without its label tables (gold_tft_training_dataset, gold_tft_inference_frame, "
        "gold_tft_feature_roles): a source has no graduates table, so a graduate cannot be told from a "
        f"student who left ({undecidable}); set aceptar_sin_egresados = 1 in seed_label_params "
        "($DWH_SEEDS_DIR/gold/label_params.csv) to build them anyway, marked egresados_incompletos",
        run,
    )


def main(argv: list[str] | None = None) -> int:
    """An alias of `python -m dwh.main --layer gold` without publishing."""
    from dwh.main import layer_alias

    return layer_alias("gold_aggregates", "gold", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
