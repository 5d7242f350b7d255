"""Parsed lineage of a SQL file (sqlglot): the objects it creates and the tables it reads."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from dwh.layers.sql_files import SqlFile


@dataclass(frozen=True)
class Lineage:
    created: frozenset[str]
    reads: frozenset[str]


def _qualified(table: exp.Table) -> str:
    return f"{table.db}.{table.name}" if table.db else table.name


def parse_lineage(sql_file: SqlFile) -> Lineage:
    """Tables and macros the file creates, and the schema-qualified tables it reads (CTEs excluded)."""
    created: set[str] = set()
    reads: set[str] = set()
    for statement in sqlglot.parse(sql_file.text(), read="duckdb"):
        if statement is None:
            continue
        ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        target = None
        if isinstance(statement, exp.Create):
            target = statement.this if isinstance(statement.this, exp.Table) else statement.this.find(exp.Table)
            if target is not None:
                created.add(_qualified(target))
        for table in statement.find_all(exp.Table):
            if isinstance(table.this, exp.Func):  # a table function (duckdb_columns()) reads the catalog
                continue
            name = _qualified(table)
            if table is not target and name not in ctes:
                reads.add(name)
    return Lineage(frozenset(created), frozenset(reads - created))
