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
