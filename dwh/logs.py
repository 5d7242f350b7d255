"""Configure process-wide logging: one line per message on stderr."""

from __future__ import annotations

import logging
import sys

from dwh.settings import log_level

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
    requested = level if level is not None else log_level() or DEFAULT_LEVEL
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


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (never in cron's mail)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.enabled = sys.stderr.isatty() and total > 0

    def step(self, name: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // self.total
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.label} {self.done}/{self.total} {name:<40.40}"
        )
        sys.stderr.flush()
        self.done += 1

    def clear(self) -> None:
        """Erase the bar, so a log line can take its place."""
        if self.enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()

    close = clear
