"""A layer's numbered SQL files and their headers: target table, grain, upstream tables and data tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SQL_ROOT = Path(__file__).resolve().parent.parent / "sql"
_NUMBERED = re.compile(r"^(\d+)[a-z]?_[\w]+\.sql$")


def _number(name: str) -> int:
    """The leading number of a file name that _NUMBERED matched."""
    return int(re.sub(r"\D.*", "", name))


_HEADER = re.compile(r"^--\s*(target|grain|upstream|test)\s*:\s*(.*?)\s*$")
_TEST = re.compile(r"^(\w+)\((.*)\)\s*(error|warn)?$")


class SqlLayerError(Exception):
    """A layer's SQL files are missing, misnumbered or have an invalid header."""


@dataclass(frozen=True)
class DataTest:
    """A declared check; `args` is the text inside the parentheses, `severity` error or warn."""

    kind: str
    args: str
    severity: str = "error"


@dataclass(frozen=True)
class SqlFile:
    path: Path
    target: str
    grain: tuple[str, ...]
    upstream: tuple[str, ...]
    tests: tuple[DataTest, ...]
    description: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def schema(self) -> str:
        return self.target.split(".")[0]

    @property
    def table(self) -> str:
        return self.target.split(".")[1]

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def parse_header(path: Path) -> SqlFile:
    """Read the leading `-- key: value` comment lines of a SQL file."""
    fields: dict[str, list[str]] = {"target": [], "grain": [], "upstream": [], "test": []}
    description: list[str] = []
    last_key = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        match = _HEADER.match(line)
        if match:
            last_key = match.group(1)
            fields[last_key].append(match.group(2))
        elif last_key == "upstream" and line[2:].startswith("  "):
            fields["upstream"].append(line[2:].strip())  # continuation line of a long upstream list
        else:
            last_key = ""
            description.append(line[2:].strip())
    if len(fields["target"]) != 1 or "." not in fields["target"][0]:
        raise SqlLayerError(f"{path.name}: the header needs one '-- target: schema.table' line")
    if len(fields["grain"]) != 1:
        raise SqlLayerError(f"{path.name}: the header needs one '-- grain: col, col' line")
    upstream = tuple(t.strip() for part in fields["upstream"] for t in part.split(",") if t.strip())
    tests = []
    for spec in fields["test"]:
        match = _TEST.match(spec)
        if not match:
            raise SqlLayerError(f"{path.name}: cannot read the test '{spec}'")
        tests.append(DataTest(match.group(1), match.group(2).strip(), match.group(3) or "error"))
    # "-" declares a file that builds no table (macros): no grain, no tests.
    grain = tuple(c.strip() for c in fields["grain"][0].split(",") if c.strip() and c.strip() != "-")
    return SqlFile(path, fields["target"][0], grain, upstream, tuple(tests), " ".join(description).strip())


def layer_files(layer: str, root: Path = SQL_ROOT) -> list[SqlFile]:
    """The layer's files in numeric order; a missing or empty directory is an error."""
    directory = root / layer
    if not directory.is_dir():
        raise SqlLayerError(f"SQL directory {directory} does not exist")
    paths = sorted(directory.glob("*.sql"))
    if not paths:
        raise SqlLayerError(f"SQL directory {directory} has no .sql files")
    bad = [p.name for p in paths if not _NUMBERED.match(p.name)]
    if bad:
        raise SqlLayerError(f"{directory}: files must be named NN_name.sql: {', '.join(bad)}")
    ordered = sorted(paths, key=lambda p: (_number(p.name), p.name))
    return [parse_header(p) for p in ordered]
