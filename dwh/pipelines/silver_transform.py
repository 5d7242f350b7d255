"""Silver: build the star schema (schema `silver`) from bronze with the numbered SQL files in dwh/sql/silver."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from dwh.layers import LayerRun, SqlFile, bronze_placeholders, build_layer
from dwh.ops import keys
from dwh.settings import RunSettings


def build(
    warehouse: Path, as_of: dt.date, files: list[SqlFile] | None = None, settings: RunSettings | None = None
) -> LayerRun:
    """Build silver (all files, or the given ones) in one transaction; raises on any failure.

    Person keys are HMACs under the pseudonym key (dwh.ops.keys); KeyFileError (bad input) when the key
    file the warehouse was built with is missing or wrong."""
    key = (
        keys.warehouse_key(warehouse, settings.key_file, settings.hash_salt)
        if settings is not None
        else keys.warehouse_key(warehouse)
    )
    return build_layer(
        warehouse,
        "silver",
        as_of,
        files=files,
        variables=keys.sql_variables(key),
        prepare=bronze_placeholders(),
        settings=settings,
    )


def main(argv: list[str] | None = None) -> int:
    """An alias of `python -m dwh.main --layer silver` without publishing."""
    from dwh.main import layer_alias

    return layer_alias("silver_transform", "silver", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
