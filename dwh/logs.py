"""Configure process-wide logging: one line per message on stderr."""

from __future__ import annotations

import logging
import os
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEFAULT_LEVEL = "INFO"
# Third-party loggers that write multi-line chatter at INFO; shown only when debugging.
NOISY_LOGGERS = ("pgserver", "sqlglot")


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time."""

    def __init__(self) -> None:
        # Skip StreamHandler.__init__, which would pin the stream object; pytest and other
        # tools swap sys.stderr after logging is set up.
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def _resolve_level(level: int | str | None) -> tuple[int, str | None]:
    """Return (numeric level, rejected value or None)."""
    requested = level if level is not None else os.environ.get("DWH_LOG_LEVEL") or DEFAULT_LEVEL
    if isinstance(requested, int):
        return requested, None
    numeric = logging.getLevelName(requested.strip().upper())
    if isinstance(numeric, int):
        return numeric, None
    return logging.INFO, str(requested)


def setup_logging(level: int | str | None = None) -> None:
    """Send log records to stderr at `level`, else $DWH_LOG_LEVEL, else INFO; safe to call repeatedly."""
    numeric, rejected = _resolve_level(level)
    root = logging.getLogger()
    if not any(isinstance(handler, _CurrentStderrHandler) for handler in root.handlers):
        handler = _CurrentStderrHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(numeric)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if numeric <= logging.DEBUG else logging.WARNING)
    if rejected is not None:
        logging.getLogger(__name__).warning("unknown log level %r, using INFO", rejected)
