"""Transcribe the source-schema facts of shared/spec/source_schemas.md into dwh's schema JSON files."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

_TABLE_HEADER = re.compile(r"^#### negocio\.(\w+)( \(VIEW\))?")
_COLUMN_ROW = re.compile(r"^\| (\w+) \| ([^|]+?) \| ([YN]) \| ([^|]*?) \|")
_CONSTRAINT = re.compile(r"`(\w+)`: ([^;]+)")
_MOODLE_TABLE = re.compile(r"^- \*\*(mdl_\w+)\*\*: (.*)$")


def parse_guarani(lines: list[str]) -> dict:
    """Tables and views of Appendix A: columns (name, type, nullable, default) and constraints."""
    tables: dict[str, dict] = {}
    current = None
    for line in lines:
        if line.startswith("## Appendix B"):
            break
        header = _TABLE_HEADER.match(line)
        if header:
            current = {"kind": "view" if header.group(2) else "table", "columns": [], "constraints": []}
            tables[header.group(1)] = current
            continue
        if current is None:
            continue
        row = _COLUMN_ROW.match(line)
        if row and row.group(1) != "column":
            name, typ, null, default = row.groups()
            current["columns"].append([name, typ.strip(), null == "Y", default.strip() or None])
        elif line.startswith("Constraints:"):
            current["constraints"] = [[n, d.strip()] for n, d in _CONSTRAINT.findall(line)]
    return tables


def parse_moodle(lines: list[str]) -> dict:
    """Tables of Appendix B: columns (name, type, nullable)."""
    tables: dict[str, dict] = {}
    for line in lines:
        match = _MOODLE_TABLE.match(line)
        if not match:
            continue
        columns = []
        for part in re.split(r", (?=\w+ )", match.group(2)):
            bits = part.strip().split(" ")
            not_null = bits[-1] == "NN"
            typ = " ".join(bits[1:-1] if not_null else bits[1:])
            columns.append([bits[0], typ, not not_null, None])
        tables[match.group(1)] = {"kind": "table", "columns": columns, "constraints": []}
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", type=Path, help="path to source_schemas.md")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    lines = args.spec.read_text(encoding="utf-8").splitlines()
    for name, data in (("guarani", parse_guarani(lines)), ("moodle", parse_moodle(lines))):
        path = args.out_dir / f"{name}.json"
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path}: {len(data)} objects")


if __name__ == "__main__":
    main()
