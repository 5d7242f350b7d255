"""Command line for the embedded development PostgreSQL: start, stop, url."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from dwh.devdb import default_data_dir, running_url, start, stop
from dwh.logs import setup_logging

log = logging.getLogger("dwh.devdb")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="server data directory (default: $DWH_DEVDB_DIR or ./.devdb)",
    )
    parser = argparse.ArgumentParser(prog="python -m dwh.devdb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", parents=[common], help="start the server (or reuse it) and print its URL")
    commands.add_parser("stop", parents=[common], help="stop the server")
    commands.add_parser("url", parents=[common], help="print the URL of the running server")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    if args.command == "start":
        print(start(data_dir))
    elif args.command == "stop":
        stop(data_dir)
    else:
        url = running_url(data_dir)
        if url is None:
            log.error("no PostgreSQL running for %s (run: python -m dwh.devdb start)", data_dir)
            return 1
        print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
