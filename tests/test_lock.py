"""The committed lock (requirements.lock, written by `make lock`) agrees with pyproject.toml's dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)\s*(?:#\s*via\s+(?P<via>.*))?$")
# uv's annotation for a package that pyproject.toml asks for directly.
DIRECT = "dwh (pyproject.toml)"


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _declared() -> list[Requirement]:
    project = _project()
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared.extend(extra)
    return [Requirement(text) for text in declared]


def _pins() -> dict[str, tuple[Version, str]]:
    """Locked name -> (version, what the package is there for)."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match["name"])] = (Version(match["version"]), match["via"] or "")
    return pins


def test_the_lock_pins_every_dependency_at_a_version_pyproject_allows() -> None:
    pins = _pins()
    problems = []
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement}: the lock has {pins[name][0]}")
    assert not problems, "run `make lock`: " + "; ".join(problems)


def test_the_lock_asks_for_nothing_pyproject_dropped() -> None:
    declared = {canonicalize_name(r.name) for r in _declared()}
    direct = {name for name, (_version, via) in _pins().items() if DIRECT in via}
    assert direct <= declared, f"run `make lock`: no longer in pyproject.toml: {sorted(direct - declared)}"


def test_the_lock_covers_every_extra_and_is_written_by_make_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    command = re.search(r"uv pip compile pyproject\.toml(.*?)-o \$\(LOCK\)", makefile, re.S)
    assert command, "the Makefile's `lock` target runs uv pip compile on pyproject.toml"
    locked_extras = set(re.findall(r"--extra (\S+)", command[1]))
    assert locked_extras == set(_project()["optional-dependencies"])
    assert LOCK.read_text(encoding="utf-8").splitlines()[1].strip() == "#    make lock"


def test_torch_is_locked_at_its_cpu_build() -> None:
    # PyPI's default torch wheel is the CUDA build with several GB of nvidia-* packages.
    pins = _pins()
    assert pins["torch"][0].local == "cpu"
    assert not [name for name in pins if name.startswith("nvidia-")]
