"""Command line: regenerate the catalogs (`--check` only compares them with the committed files)."""

from __future__ import annotations

import argparse
import logging
import sys

from dwh.docs.generate import generated_documents
from dwh.logs import setup_logging

log = logging.getLogger("dwh.docs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed document is out of date")
    args = parser.parse_args(argv)
    setup_logging()
    stale = []
    for path, text in generated_documents().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            log.info("wrote %s", path)
    if args.check and stale:
        log.error("out of date (run python -m dwh.docs): %s", ", ".join(str(p) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
