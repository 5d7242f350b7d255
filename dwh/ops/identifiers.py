"""The one rule of what the published warehouse leaves out: identifying columns, raw bronze, secrets."""

from __future__ import annotations

# A column of any table with one of these names is never published: direct identifiers (DNI as login,
# names, e-mails, legajo, birth date), the source's own ids of a person (which anyone with access to
# Guaraní or Moodle turns into a name, and which would undo the keyed pseudonyms), and the login hash.
IDENTIFYING_COLUMNS = frozenset(
    {
        # direct identifiers
        "usuario",
        "username",
        "idnumber",
        "login",
        "apellido",
        "nombres",
        "email",
        "legajo",
        "fecha_nacimiento",
        # the sources' ids of a person, a student, a census answer or a Moodle account
        "persona",
        "alumno",
        "dato_censal",
        "userid",
        "participante",
        # md5 over the alumno and a few small ids: reversible by enumeration
        "dwh_pk",
        # a keyed pseudonym of the DNI: readers never need to link logins
        "login_hash",
    }
)
# Health data (disability answers of the census): disc_auditiva, disc_visual, disc_motora, disc_otra.
IDENTIFYING_PREFIXES = ("disc_",)
# Columns left out of one table only (schema.table.column).
WITHHELD_COLUMNS = frozenset(
    {
        # a data test's sample is whole failing rows, of any column (a birth date, a source id)
        "dwh_meta.data_test_results.sample",
    }
)
# Whole tables left out: the old in-warehouse salt of the login hashes.
WITHHELD_TABLES = frozenset({"dwh_meta.secrets"})
# Bronze is raw source data (DNI, birth dates, names for the contacts file): none of it is published except
# its load log and, per event table, the newest cursor value of each source (all that freshness reads).
BRONZE = "bronze"
BRONZE_PUBLISHED = frozenset({"_dwh_load_log"})
WITHHELD_SCHEMAS = frozenset({"bronze_staging", "information_schema", "pg_catalog"})


def is_identifying(schema: str, table: str, column: str) -> bool:
    """Whether the column is left out of the published warehouse."""
    name = column.lower()
    return (
        name in IDENTIFYING_COLUMNS
        or name.startswith(IDENTIFYING_PREFIXES)
        or f"{schema}.{table}.{name}".lower() in WITHHELD_COLUMNS
    )


def is_withheld_table(schema: str, table: str) -> bool:
    """Whether the whole table is left out (bronze's are handled apart: see BRONZE_PUBLISHED)."""
    return schema in WITHHELD_SCHEMAS or schema.startswith("_dlt") or f"{schema}.{table}" in WITHHELD_TABLES
