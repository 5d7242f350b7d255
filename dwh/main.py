"""Run the warehouse pipeline: bronze -> silver -> gold, each layer that is installed, in order."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

from dwh.logs import setup_logging
from dwh.settings import ConfigError, load_config, warehouse_path

log = logging.getLogger("dwh.main")
LAYERS = ("bronze_ingest", "silver_transform", "gold_aggregates")


def available_layers() -> list[str]:
    """Layer modules present in dwh.pipelines, in pipeline order."""
    return [name for name in LAYERS if importlib.util.find_spec(f"dwh.pipelines.{name}") is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.main", description=__doc__)
    parser.parse_args(argv)
    setup_logging()
    try:
        sources = load_config()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    layers = available_layers()
    log.info(
        "warehouse %s; %d sources: %s",
        warehouse_path(),
        len(sources),
        ", ".join(f"{s.name} ({s.kind})" for s in sources),
    )
    if not layers:
        log.warning("no pipeline layer is installed yet (expected modules dwh.pipelines.%s)", "|".join(LAYERS))
    for name in layers:
        log.info("running %s", name)
        code = importlib.import_module(f"dwh.pipelines.{name}").main([])
        if code:
            log.error("%s failed with exit code %s", name, code)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
