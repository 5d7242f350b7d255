"""Command line: generate a synthetic university (Guaraní sources + Moodle) on a PostgreSQL server."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from dwh import devdb
from dwh.logs import setup_logging
from dwh.synthetic.generate import generate, write_config
from dwh.synthetic.params import GeneratorConfig
from dwh.synthetic.profile import PROFILES, Shapes, profile_shapes

log = logging.getLogger("dwh.synthetic")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dwh.synthetic", description=__doc__)
    p.add_argument("--students", type=int, default=5000, help="students across all Guaraní sources (default 5000)")
    p.add_argument("--sources", type=int, default=2, help="Guaraní sources, 1 to 3 (default 2)")
    p.add_argument("--years", type=int, default=6, help="years of history, one cohort per year (default 6)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=dt.date.today(),
        help="snapshot date YYYY-MM-DD: nothing after it exists (default today)",
    )
    p.add_argument(
        "--snapshot",
        type=dt.date.fromisoformat,
        default=None,
        help="read the sources as they stood on this earlier day YYYY-MM-DD (calendar and draws still from --until)",
    )
    p.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="realistic",
        help="realistic (default): the shapes real Guaraní data has (annual courses, late actas, second careers, "
        "late certificates, readmissions, late bajas, census updated in place, a migrated source, date-type "
        "variants); simple: none of them, the generator's output before they existed, byte for byte",
    )
    p.add_argument(
        "--without",
        default="",
        metavar="SHAPE[,SHAPE...]",
        help=f"switch shapes off: {', '.join(Shapes.names())}",
    )
    p.add_argument("--no-moodle", action="store_true", help="do not create the Moodle database")
    p.add_argument("--moodle-years", type=int, default=3, help="academic years with Moodle activity (default 3)")
    p.add_argument(
        "--admin-url",
        default=None,
        help="superuser SQLAlchemy URL of the server (default: start the embedded dev server)",
    )
    p.add_argument("--db-prefix", default="", help="prefix for the database names (default none)")
    p.add_argument("--jobs", type=int, default=2, help="sources generated in parallel (default 2)")
    p.add_argument("--write-config", type=Path, default=None, help="write a dwh config file for these sources")
    return p


def shapes_from_args(args: argparse.Namespace) -> Shapes:
    """The profile's shapes minus those named in --without (ValueError for an unknown name)."""
    names = [name.strip() for name in args.without.split(",") if name.strip()]
    return profile_shapes(args.profile).without(names)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    try:
        cfg = GeneratorConfig(
            shapes=shapes_from_args(args),
            students=args.students,
            sources=args.sources,
            years=args.years,
            seed=args.seed,
            until=args.until,
            snapshot=args.snapshot,
            moodle=not args.no_moodle,
            moodle_years=args.moodle_years,
        )
    except ValueError as exc:
        log.error("invalid option: %s", exc)
        return 2
    admin_url = args.admin_url or devdb.start(devdb.default_data_dir())
    sources = generate(cfg, admin_url, args.db_prefix, args.jobs)
    if args.write_config:
        write_config(args.write_config, sources)
        log.info("wrote %s", args.write_config)
    for s in sources:
        print(f"{s.name}\t{s.kind}\t{s.rows}\t{s.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
