"""Declared data tests of a layer's tables: each test is a query counting the rows that break it."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import duckdb

from dwh.layers.sql_files import DataTest, SqlFile, SqlLayerError

SAMPLE_ROWS = 5
_RELATION = re.compile(r"^(.+?)\s*->\s*([\w.]+)\s*\((.+)\)$")
_ROW_COUNT = re.compile(r"^(>=|>|=|<=|<)\s*(\d+)$")
_ACCEPTED = re.compile(r"^(\w+)\s*:\s*(.+)$")
_COMPARE = {">=": operator.ge, ">": operator.gt, "=": operator.eq, "<=": operator.le, "<": operator.lt}


@dataclass
class TestResult:
    table: str
    test: str
    severity: str
    failing: int
    sample: str

    @property
    def status(self) -> str:
        if self.failing == 0:
            return "pass"
        return "fail" if self.severity == "error" else "warn"


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single number a count(*) query returns."""
    row = con.execute(sql).fetchone()
    assert row is not None, "a count(*) always returns a row"
    return int(row[0])


def _cols(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _failing_rows_sql(sql_file: SqlFile, test: DataTest) -> str:
    """A query over the table's rows that break the test (for row_count: a single-row query)."""
    table = sql_file.target
    if test.kind == "unique":
        cols = ", ".join(_cols(test.args))
        return f"SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1"
    if test.kind == "not_null":
        cond = " OR ".join(f"{c} IS NULL" for c in _cols(test.args))
        return f"SELECT * FROM {table} WHERE {cond}"
    if test.kind == "relationship":
        match = _RELATION.match(test.args)
        if not match:
            raise SqlLayerError(f"{sql_file.name}: relationship({test.args}) must read 'a, b -> schema.table(a, b)'")
        child, parent, parent_cols = _cols(match.group(1)), match.group(2), _cols(match.group(3))
        on = " AND ".join(f"p.{pc} = c.{cc}" for cc, pc in zip(child, parent_cols))
        present = " AND ".join(f"c.{cc} IS NOT NULL" for cc in child)
        return f"SELECT c.* FROM {table} c WHERE {present} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {on})"
    if test.kind == "accepted_values":
        match = _ACCEPTED.match(test.args)
        if not match:
            raise SqlLayerError(f"{sql_file.name}: accepted_values({test.args}) must read 'column: 'a', 'b''")
        return f"SELECT * FROM {table} WHERE {match.group(1)} NOT IN ({match.group(2)})"
    if test.kind == "expression":
        return f"SELECT * FROM {table} WHERE NOT coalesce(({test.args}), false)"
    raise SqlLayerError(f"{sql_file.name}: unknown data test {test.kind}")


def _tests_of(sql_file: SqlFile) -> list[DataTest]:
    """Declared tests plus the grain: unique and not null on its columns."""
    grain = ", ".join(sql_file.grain)
    return [DataTest("unique", grain), DataTest("not_null", grain), *sql_file.tests]


def run_tests(con: duckdb.DuckDBPyConnection, files: list[SqlFile]) -> list[TestResult]:
    results = []
    for sql_file in files:
        for test in _tests_of(sql_file):
            label = f"{test.kind}({test.args})"
            if test.kind == "row_count":
                match = _ROW_COUNT.match(test.args)
                if not match:
                    raise SqlLayerError(f"{sql_file.name}: row_count({test.args}) must read like '>= 1'")
                rows = _count(con, f"SELECT count(*) FROM {sql_file.target}")
                ok = _COMPARE[match.group(1)](rows, int(match.group(2)))
                results.append(TestResult(sql_file.target, label, test.severity, 0 if ok else 1, f"rows={rows}"))
                continue
            failing_sql = _failing_rows_sql(sql_file, test)
            failing = _count(con, f"SELECT count(*) FROM ({failing_sql})")
            sample = ""
            if failing:
                examples = con.execute(f"SELECT * FROM ({failing_sql}) LIMIT {SAMPLE_ROWS}").fetchall()
                sample = "; ".join(str(r)[:200] for r in examples)
            results.append(TestResult(sql_file.target, label, test.severity, failing, sample))
    return results
