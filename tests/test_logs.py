"""Tests for dwh.logs: format, level selection and repeated setup."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from dwh.logs import setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("pgserver").setLevel(logging.NOTSET)


def test_one_line_per_message_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    setup_logging()
    logging.getLogger("dwh.example").info("hello %s", "world")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].endswith(" INFO dwh.example: hello world")


def test_level_from_environment(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["DWH_LOG_LEVEL"] = "warning"
    setup_logging()
    logging.getLogger("dwh.example").info("hidden")
    logging.getLogger("dwh.example").warning("shown")
    assert capsys.readouterr().err.count("\n") == 1
    assert logging.getLogger().level == logging.WARNING


def test_argument_overrides_environment_and_bad_level_falls_back() -> None:
    os.environ["DWH_LOG_LEVEL"] = "ERROR"
    setup_logging("DEBUG")
    assert logging.getLogger().level == logging.DEBUG
    setup_logging("LOUD")
    assert logging.getLogger().level == logging.INFO


def _progress_output(tty: bool) -> str:
    """stderr of a small layer build, attached to a pseudo-terminal or to a pipe."""
    import os
    import pty
    import subprocess
    import sys

    script = (
        "import datetime as dt, pathlib, tempfile, duckdb\n"
        "from dwh.logs import setup_logging\n"
        "from dwh.layers.runner import build_layer\n"
        "from dwh.layers.sql_files import SqlFile\n"
        "setup_logging()\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "files = []\n"
        "for i in range(3):\n"
        "    p = d / f'0{i}_t{i}.sql'\n"
        "    p.write_text(f'-- target: silver.t{i}\\n-- grain: a\\n-- upstream:\\n'\n"
        "                 f'CREATE TABLE silver.t{i} AS SELECT 1 AS a;')\n"
        "from dwh.layers.sql_files import parse_header\n"
        "files = [parse_header(p) for p in sorted(d.glob('*.sql'))]\n"
        "build_layer(d / 'w.duckdb', 'silver', dt.date(2025, 1, 1), files=files)\n"
    )
    if not tty:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        return done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_a_progress_bar_is_drawn_only_on_a_terminal():
    on_tty = _progress_output(tty=True)
    in_pipe = _progress_output(tty=False)
    assert "silver 2/3" in on_tty and "[#" in on_tty
    assert "silver.t2: 1 rows" in on_tty
    assert "\r" not in in_pipe and "silver 2/3" not in in_pipe
    assert "silver.t2: 1 rows" in in_pipe
