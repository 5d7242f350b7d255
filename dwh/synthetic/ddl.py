"""DDL of the synthetic sources, written from the documented schema facts (schema/*.json)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

_SEQ = re.compile(r"nextval\('([\w.]+)'\)")
_INDEX = re.compile(r"^(UNIQUE )?INDEX \((.+)\)$")


@lru_cache(maxsize=None)
def schema_facts(name: str) -> dict:
    """Tables of `guarani`, `guarani_extra` or `moodle`: {table: {kind, columns, constraints}}."""
    text = resources.files("dwh.synthetic").joinpath("schema", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def guarani_tables() -> dict[str, dict]:
    """Documented Guaraní tables plus the optional certificates tables."""
    facts = {k: v for k, v in schema_facts("guarani").items() if v["kind"] == "table"}
    facts.update(schema_facts("guarani_extra"))
    return facts


def _column_sql(name: str, typ: str, nullable: bool, default: str | None) -> str:
    sql = f"{name} {typ}"
    if default:
        seq = _SEQ.search(default)
        sql += f" DEFAULT nextval(('{seq.group(1)}'::text)::regclass)" if seq else f" DEFAULT {default}"
    return sql if nullable else sql + " NOT NULL"


def guarani_create_sql(variants: dict[tuple[str, str], str], with_certificates: bool = True) -> str:
    """Schema `negocio`, its sequences and bare tables (constraints come after the bulk load).

    `variants` gives the columns this deployment holds in another type: {(table, column): type}.
    """
    lines = ["CREATE SCHEMA negocio;"]
    for table, spec in guarani_tables().items():
        if not with_certificates and table.startswith("sga_certificados"):
            continue
        cols = []
        for name, typ, nullable, default in spec["columns"]:
            typ = variants.get((table, name), typ)
            if default and (seq := _SEQ.search(default)):
                lines.append(f"CREATE SEQUENCE IF NOT EXISTS {seq.group(1)};")
            cols.append(_column_sql(name, typ, nullable, default))
        lines.append(f"CREATE TABLE negocio.{table} (\n    " + ",\n    ".join(cols) + "\n);")
    return "\n".join(lines)


def view_date_type(variants: dict[tuple[str, str], str]) -> str:
    """vw_hist_academica.fecha: TIMESTAMPTZ in a deployment whose exam dates are instants, else DATE."""
    return "timestamptz" if variants else "date"


def guarani_post_load_sql(variants: dict[tuple[str, str], str], with_certificates: bool = True) -> list[str]:
    """Keys, checks, foreign keys and indexes as documented, then the two views and sequence positions."""
    keys, foreign, indexes, sequences = [], [], [], []
    for table, spec in guarani_tables().items():
        if not with_certificates and table.startswith("sga_certificados"):
            continue
        for cname, definition in spec["constraints"]:
            index = _INDEX.match(definition)
            if index:
                unique = "UNIQUE " if index.group(1) else ""
                indexes.append(f"CREATE {unique}INDEX {cname} ON negocio.{table} ({index.group(2)})")
            elif definition.startswith("FOREIGN KEY"):
                foreign.append(f"ALTER TABLE negocio.{table} ADD CONSTRAINT {cname} {definition}")
            else:
                keys.append(f"ALTER TABLE negocio.{table} ADD CONSTRAINT {cname} {definition}")
        for name, _typ, _null, default in spec["columns"]:
            if default and (seq := _SEQ.search(default)):
                sequences.append(
                    f"SELECT setval('{seq.group(1)}', "
                    f"(SELECT COALESCE(max({name}), 0) + 1 FROM negocio.{table}), false)"
                )
    views = resources.files("dwh.synthetic").joinpath("views.sql").read_text(encoding="utf-8")
    fecha_type = view_date_type(variants)
    return keys + indexes + foreign + [views.replace("{fecha_type}", fecha_type)] + sequences


def _abbreviation(words: str, letters: int) -> str:
    return "".join(word[:letters] for word in words.split("_"))


def moodle_index_name(table: str, fields: list[str], suffix: str) -> str:
    """Moodle's generator naming: mdl_ + 4 letters per table word + _ + 3 letters per field + suffix."""
    name = f"mdl_{_abbreviation(table, 4)}_{''.join(_abbreviation(f, 3) for f in fields)}_{suffix}"
    return name[:30]


# Index columns from the key joins of the documented Moodle schema.
MOODLE_INDEXES = {
    "user": [(["mnethostid", "username"], "uix"), (["deleted"], "ix"), (["idnumber"], "ix")],
    "course": [(["category"], "ix"), (["idnumber"], "ix"), (["shortname"], "ix")],
    "enrol": [(["courseid"], "ix"), (["enrol"], "ix")],
    "user_enrolments": [(["enrolid", "userid"], "uix"), (["userid"], "ix")],
    "logstore_standard_log": [
        (["timecreated"], "ix"),
        (["courseid", "anonymous", "timecreated"], "ix"),
        (["userid", "contextlevel", "contextinstanceid", "crud", "edulevel", "timecreated"], "ix"),
    ],
    "attendance": [(["course"], "ix")],
    "attendance_sessions": [(["attendanceid"], "ix"), (["sessdate"], "ix")],
    "attendance_log": [(["sessionid"], "ix"), (["studentid"], "ix"), (["statusid"], "ix")],
    "attendance_statuses": [(["attendanceid"], "ix")],
    "user_lastaccess": [(["userid", "courseid"], "uix")],
    "context": [(["contextlevel", "instanceid"], "uix")],
    "role_assignments": [(["userid"], "ix"), (["contextid"], "ix")],
}


def moodle_create_sql() -> str:
    """Every documented mdl_ table; NOT NULL columns get Moodle's implicit defaults ('' or 0)."""
    lines = []
    for table, spec in schema_facts("moodle").items():
        cols = []
        for name, typ, nullable, _default in spec["columns"]:
            if name == "id":
                lines.append(f"CREATE SEQUENCE {table}_id_seq;")
                cols.append(f"id bigint NOT NULL DEFAULT nextval('{table}_id_seq'::regclass)")
                continue
            default = None
            if not nullable:
                default = "''" if typ.startswith(("varchar", "text")) else "0"
            if name == "timeend" and table == "mdl_user_enrolments":
                default = "2147483647"
            cols.append(_column_sql(name, typ, nullable, default))
        lines.append(f"CREATE TABLE {table} (\n    " + ",\n    ".join(cols) + "\n);")
    return "\n".join(lines)


def moodle_post_load_sql() -> list[str]:
    stmts = []
    for table in schema_facts("moodle"):
        short = table.removeprefix("mdl_")
        stmts.append(f"ALTER TABLE {table} ADD CONSTRAINT {moodle_index_name(short, ['id'], 'pk')} PRIMARY KEY (id)")
        for fields, suffix in MOODLE_INDEXES.get(short, []):
            unique = "UNIQUE " if suffix == "uix" else ""
            stmts.append(
                f"CREATE {unique}INDEX {moodle_index_name(short, fields, suffix)} ON {table} ({', '.join(fields)})"
            )
        stmts.append(f"SELECT setval('{table}_id_seq', (SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)")
    return stmts
