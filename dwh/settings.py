"""Load and validate the source list and the warehouse/run settings from files and the environment."""

from __future__ import annotations

import datetime
import os
import re
import runpy
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_TIMEZONE = "America/Argentina/Buenos_Aires"

KINDS = ("guarani", "moodle", "intervenciones")
# The application database the dashboard writes interventions to; its conn_string may be SQLite and defaults
# to the application database (DWH_APP_DB).
APP_DB_KIND = "intervenciones"
APP_DB_FILE = "app.sqlite"
DEFAULT_KIND = "guarani"
REQUIRED_KEYS = frozenset({"name", "conn_string"})
ALLOWED_KEYS = REQUIRED_KEYS | {"kind", "max_age_days"}
ENV_PREFIX = "env:"

_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Matches the "user:password@" part of any URL-looking text, so that error text we
# did not write ourselves (tracebacks, source lines) cannot leak a password.
_URL_PASSWORD_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):[^@\s]*@")


class ConfigError(Exception):
    """The configuration is missing or invalid; the message says where and why."""


@dataclass(frozen=True, repr=False)
class SourceDatabase:
    """One PostgreSQL database to extract."""

    name: str
    conn_string: str
    kind: str = DEFAULT_KIND
    # freshness: the newest loaded data may be at most this many days old (None: reported, never fails)
    max_age_days: int | None = None

    @property
    def redacted_url(self) -> str:
        return make_url(self.conn_string).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        # The default dataclass repr would print the password inside conn_string.
        return (
            f"SourceDatabase(name={self.name!r}, kind={self.kind!r}, url={self.redacted_url!r}, "
            f"max_age_days={self.max_age_days!r})"
        )


def scrub_passwords(text: str) -> str:
    """Replace the password of every URL in text by ***."""
    return _URL_PASSWORD_RE.sub(r"\1:***@", text)


def _env(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The one place dwh reads its own variables from the process environment."""
    return (os.environ if env is None else env).get(name)


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    raw = _env("DWH_CONFIG", env)
    return Path(raw) if raw else PACKAGE_DIR / "config.py"


def load_config(path: str | Path | None = None) -> list[SourceDatabase]:
    """Read SOURCE_DATABASES from a Python config file and validate every entry."""
    config_path = Path(path) if path is not None else default_config_path()
    config_path = config_path.expanduser().resolve()
    namespace = _run_config_file(config_path)
    if "SOURCE_DATABASES" not in namespace:
        raise ConfigError(f"{config_path}: SOURCE_DATABASES is not defined")
    entries = namespace["SOURCE_DATABASES"]
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(f"{config_path}: SOURCE_DATABASES must be a list of dicts, got {type(entries).__name__}")
    if not entries:
        raise ConfigError(f"{config_path}: SOURCE_DATABASES is empty; define at least one source")

    sources: list[SourceDatabase] = []
    first_index_of: dict[str, int] = {}
    for index, entry in enumerate(entries):
        source = _parse_entry(config_path, index, entry)
        if source.name in first_index_of:
            raise ConfigError(
                f"{_where(config_path, index, source.name)}: duplicate name, "
                f"already used by SOURCE_DATABASES[{first_index_of[source.name]}]"
            )
        first_index_of[source.name] = index
        sources.append(source)
    return sources


def _run_config_file(config_path: Path) -> dict[str, Any]:
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: config file not found (copy config.example.py there or set DWH_CONFIG)")
    try:
        return runpy.run_path(str(config_path), run_name="dwh_config")
    except SyntaxError as exc:
        line = scrub_passwords((exc.text or "").strip())
        raise ConfigError(f"{config_path}: syntax error at line {exc.lineno}: {exc.msg}: {line}") from None
    except Exception as exc:
        raise ConfigError(
            f"{config_path}: failed to execute: {type(exc).__name__}: {scrub_passwords(str(exc))}"
        ) from None


def _where(config_path: Path, index: int, name: object = None) -> str:
    label = f"{config_path}: SOURCE_DATABASES[{index}]"
    if isinstance(name, str) and name:
        label += f" ({name!r})"
    return label


def _parse_entry(config_path: Path, index: int, entry: object) -> SourceDatabase:
    if not isinstance(entry, dict):
        raise ConfigError(f"{_where(config_path, index)}: each entry must be a dict, got {type(entry).__name__}")
    where = _where(config_path, index, entry.get("name"))
    required = REQUIRED_KEYS - {"conn_string"} if entry.get("kind") == APP_DB_KIND else REQUIRED_KEYS
    missing = sorted(required - entry.keys())
    if missing:
        raise ConfigError(f"{where}: missing key(s): {', '.join(missing)}")
    unknown = sorted(str(key) for key in entry.keys() - ALLOWED_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(unknown)} (allowed: {', '.join(sorted(ALLOWED_KEYS))})")

    name = entry["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{where}: name {name!r} is invalid: use only lowercase letters, digits and _")
    kind = entry.get("kind", DEFAULT_KIND)
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is invalid: expected one of {', '.join(KINDS)}")
    max_age = entry.get("max_age_days")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 1):
        raise ConfigError(f"{where}: max_age_days must be a positive whole number of days, got {max_age!r}")
    if kind == APP_DB_KIND:
        if max_age is not None:
            raise ConfigError(
                f"{where}: max_age_days does not apply to kind {APP_DB_KIND} (interventions have no cadence)"
            )
        raw = entry.get("conn_string")
        conn_string = app_db_url() if raw is None else _resolve_conn_string(where, raw, ("postgresql", "sqlite"))
    else:
        conn_string = _resolve_conn_string(where, entry["conn_string"])
    return SourceDatabase(name=name, conn_string=conn_string, kind=kind, max_age_days=max_age)


def _resolve_conn_string(where: str, raw: object, backends: tuple[str, ...] = ("postgresql",)) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: conn_string must be a non-empty string")
    origin = "conn_string"
    value = raw.strip()
    if value.startswith(ENV_PREFIX):
        var = value[len(ENV_PREFIX) :].strip()
        if not _ENV_VAR_RE.match(var):
            raise ConfigError(f"{where}: conn_string {raw!r} does not name a valid environment variable")
        value = (_env(var) or "").strip()
        if not value:
            raise ConfigError(f"{where}: environment variable {var} (from conn_string) is not set or empty")
        origin = f"environment variable {var}"
    _check_url(where, origin, value, backends)
    return value


def _check_url(where: str, origin: str, value: str, backends: tuple[str, ...] = ("postgresql",)) -> None:
    try:
        url: URL = make_url(value)
    except Exception:
        # The unparsed text may hold a password we cannot locate reliably, so it is not echoed.
        raise ConfigError(
            f"{where}: {origin} is not a valid database URL "
            "(expected e.g. postgresql+psycopg2://user:password@host:5432/dbname)"
        ) from None
    if url.get_backend_name() == "sqlite" and "sqlite" in backends:
        if not url.database or url.database == ":memory:":
            raise ConfigError(f"{where}: {origin} must name a SQLite file (sqlite:////path/app.sqlite)")
    elif url.get_backend_name() != "postgresql":
        if "sqlite" in backends:
            raise ConfigError(
                f"{where}: {origin} must be a PostgreSQL or SQLite URL (postgresql://… or sqlite:////path/app.sqlite), "
                f"got {url.render_as_string(hide_password=True)}"
            )
        raise ConfigError(
            f"{where}: {origin} must be a PostgreSQL URL (postgresql:// or postgresql+driver://), "
            f"got {url.render_as_string(hide_password=True)}"
        )


def warehouse_path(env: Mapping[str, str] | None = None) -> Path:
    """The DuckDB warehouse file: $DWH_DUCKDB_PATH, else <package>/data/warehouse.duckdb."""
    raw = _env("DWH_DUCKDB_PATH", env)
    path = Path(raw) if raw else PACKAGE_DIR / "data" / "warehouse.duckdb"
    return path.expanduser().resolve()


def app_db_url(env: Mapping[str, str] | None = None) -> str:
    """The operational application database (interventions, audit): $DWH_APP_DB, else app.sqlite beside the warehouse.

    $DWH_APP_DB is a SQLAlchemy PostgreSQL or SQLite URL, or the path of a SQLite file.
    """
    raw = (_env("DWH_APP_DB", env) or "").strip()
    if not raw:
        return sqlite_url(warehouse_path(env).parent / APP_DB_FILE)
    if "://" not in raw:
        return sqlite_url(Path(raw))
    _check_url("DWH_APP_DB", "the value", raw, ("postgresql", "sqlite"))
    return raw


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(Path(path).expanduser().resolve())).render_as_string()


def dlt_state_dir(warehouse: Path | None = None) -> Path:
    """dlt's pipeline state directory, kept beside the warehouse so a new warehouse starts fresh."""
    target = Path(warehouse).expanduser().resolve() if warehouse is not None else warehouse_path()
    return target.parent / f"{target.stem}.dlt"


def time_zone(env: Mapping[str, str] | None = None) -> str:
    """$DWH_TIMEZONE (an IANA zone name), default America/Argentina/Buenos_Aires.

    The one clock of the warehouse: bronze reads source instants as days on it, silver and gold cast
    instants to days on it.
    """
    raw = (_env("DWH_TIMEZONE", env) or "").strip() or DEFAULT_TIMEZONE
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"DWH_TIMEZONE={raw!r} is not a known time zone (e.g. America/Argentina/Buenos_Aires)"
        ) from None
    return raw


DEFAULT_MEMORY_LIMIT = "1GB"
UNCAPPED = "none"
# DuckDB's size units: KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB powers of 1024.
_SIZE_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?i?B)$", re.IGNORECASE)


def _size(text: str) -> tuple[str, str]:
    """(number, unit) of a DuckDB size ('1GB', '1.5 gb', '512MiB'); ValueError when it is not one."""
    match = _SIZE_RE.match(text.strip())
    unit = next((u for u in _SIZE_UNITS if match and u.lower() == match.group(2).lower()), None)
    if match is None or unit is None:
        raise ValueError(text)
    return match.group(1), unit


def size_bytes(text: str) -> int:
    """The bytes of a DuckDB size ('1GB' is 10**9, '1GiB' 2**30); ValueError when it is not one."""
    number, unit = _size(text)
    return int(float(number) * _SIZE_UNITS[unit])


def memory_limit(env: Mapping[str, str] | None = None) -> str | None:
    """$DWH_MEMORY_LIMIT, the cap of every DuckDB connection, as DuckDB reads it (default 1GB).

    None for `none`: DuckDB's own default applies (80% of the machine's RAM), used to measure uncapped.
    """
    raw = (_env("DWH_MEMORY_LIMIT", env) or "").strip() or DEFAULT_MEMORY_LIMIT
    if raw.lower() == UNCAPPED:
        return None
    try:
        number, unit = _size(raw)
    except ValueError:
        raise ConfigError(
            f"DWH_MEMORY_LIMIT={raw!r} is not a size: use a number and a unit as DuckDB reads them "
            f"(512MB, 1GB, 1.5GB, 2GiB) or {UNCAPPED} for DuckDB's own default"
        ) from None
    if size_bytes(raw) < 2**20:
        raise ConfigError(f"DWH_MEMORY_LIMIT={raw!r} is below 1MB: DuckDB cannot run a query in that")
    return number + unit


def as_of_date(env: Mapping[str, str] | None = None) -> datetime.date:
    """The run's reference date: $DWH_AS_OF (YYYY-MM-DD), else today."""
    raw = (_env("DWH_AS_OF", env) or "").strip()
    if not raw:
        return datetime.date.today()
    try:
        if not _DATE_RE.match(raw):
            raise ValueError(raw)
        return datetime.datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"DWH_AS_OF={raw!r} is not a date in YYYY-MM-DD form") from None


# -- every variable dwh reads: one list, from which --help, the README table and .env.example are generated --


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, the kind of value, the default in words and one line of help."""

    name: str
    type: str
    default: str
    help: str
    example: str = ""  # what .env.example shows (commented out); empty: the variable is left out of it


VARIABLES: tuple[Variable, ...] = (
    Variable("DWH_CONFIG", "path", "`dwh/config.py`", "the config file with `SOURCE_DATABASES`", "dwh/config.py"),
    Variable(
        "DWH_DUCKDB_PATH",
        "path",
        "`dwh/data/warehouse.duckdb`",
        "the working warehouse file; dlt's state lives beside it in `<name>.dlt/`, the run lock in `<name>.lock`",
        "dwh/data/warehouse.duckdb",
    ),
    Variable(
        "DWH_PUBLISHED_PATH",
        "path",
        "`published/<name>` beside the warehouse",
        "the read-only copy readers (dashboard, ML) open, replaced atomically after each successful run",
        "dwh/data/published/warehouse.duckdb",
    ),
    Variable("DWH_DASHBOARD_PORT", "integer", "`8050`", "the dashboard's port", "8050"),
    Variable(
        "DWH_DASHBOARD_THREADS", "integer", "`8`", "requests the dashboard's waitress server handles at once", "8"
    ),
    Variable(
        "DWH_DASHBOARD_SECRET",
        "text",
        "unset: the key file",
        "the key that signs the dashboard's session cookies (≥ 32 characters)",
    ),
    Variable(
        "DWH_DASHBOARD_SECRET_FILE",
        "path",
        "`dashboard_session.key` beside the warehouse",
        "the file holding that key, created once with mode 0400",
    ),
    Variable(
        "DWH_AS_OF",
        "date",
        "today",
        "as-of date (`YYYY-MM-DD`): bronze reads nothing dated after it; silver and gold are computed as of it",
        "2025-11-30",
    ),
    Variable(
        "DWH_BRONZE_RESOURCES",
        "list",
        "all",
        "comma-separated bronze tables to load (unknown names are an error)",
        "students,personas",
    ),
    Variable(
        "DWH_INCREMENTAL_START_DATE",
        "date",
        "`1900-01-01`",
        "`YYYY-MM-DD` where a new incremental table's cursor starts (never moves existing state)",
        "2015-01-01",
    ),
    Variable(
        "DWH_LAG_DAYS_<TABLE>",
        "integer",
        "per table",
        "look-back window of an incremental bronze table, in days",
    ),
    Variable(
        "DWH_RECONCILE",
        "choice",
        "`auto`",
        "when bronze deletes the rows its sources deleted (key reconciliation): `auto` every night while it costs "
        "at most 5% of a full read of the table, else weekly; `nightly`, `weekly` or `off`",
        "weekly",
    ),
    Variable(
        "DLT__EXTRACT__WORKERS, DLT__NORMALIZE__WORKERS, DLT__LOAD__WORKERS",
        "integer",
        "`1`",
        "dlt workers per stage (dwh passes them to dlt as `<STAGE>__WORKERS`)",
    ),
    Variable(
        "DWH_SEEDS_DIR",
        "path",
        "unset",
        "directory whose `silver/*.csv` and `gold/*.csv` replace the shipped seed tables (result codes, text "
        "grades, site classification, settings; label parameters, semester as-of dates, calendar events)",
    ),
    Variable(
        "DWH_TIMEZONE",
        "time zone",
        "`America/Argentina/Buenos_Aires`",
        "the warehouse's clock: bronze reads source instants (and wall-clock timestamps) as days on it, silver "
        "and gold cast instants to days on it",
        DEFAULT_TIMEZONE,
    ),
    Variable(
        "DWH_KEY_FILE",
        "path",
        "`<name>.key` beside the warehouse",
        "the secret (32 random bytes, hex) under which student, person and login keys are HMAC-SHA256 "
        "pseudonyms; created by the first run, mode 0400, never inside the warehouse or `published/`: back it "
        "up (`dwh/docs/PRIVACY.md`)",
    ),
    Variable(
        "DWH_HASH_SALT",
        "text",
        "unset",
        "tests and reproducible benchmarks only: derive that secret from this text instead of the key file",
    ),
    Variable(
        "DWH_APP_DB",
        "path or URL",
        "`app.sqlite` beside the warehouse",
        "the application database where the dashboard records interventions and its audit: a SQLite file path, "
        "or a SQLAlchemy SQLite or PostgreSQL URL; the pipeline reads it back through a `SOURCE_DATABASES` entry "
        "of kind `intervenciones` (`dwh/docs/INTERVENCIONES.md`)",
        "dwh/data/app.sqlite",
    ),
    Variable(
        "DWH_MEMORY_LIMIT",
        "size",
        f"`{DEFAULT_MEMORY_LIMIT}`",
        "the memory cap of every DuckDB connection dwh opens (bronze, silver, gold, publish, dashboard, ML), as "
        "DuckDB reads sizes (`512MB`, `1.5GB`, `2GiB`); above it DuckDB spills to `<name>.tmp/` beside the "
        "warehouse (at most 10GB there) and a stage that still cannot finish fails naming itself; `none`: "
        "DuckDB's own default (80% of RAM, uncapped by dwh)",
        DEFAULT_MEMORY_LIMIT,
    ),
    Variable("DWH_MODELS_DIR", "path", "`models/` beside the warehouse", "where ML training runs are kept"),
    Variable("DWH_LOG_LEVEL", "level", "`INFO`", "logging level", "INFO"),
    Variable("DWH_DEMO_STUDENTS", "integer", "`5000`", "students per source the demo (`make demo`) generates"),
    Variable("DWH_DEVDB_DIR", "path", "`./.devdb`", "data directory of the embedded development PostgreSQL"),
    Variable("DWH_TEST_POSTGRES_URL", "URL", "unset", "tests use this PostgreSQL server instead of starting one"),
)


def _plain(text: str) -> str:
    return text.replace("`", "")


def help_epilog(width: int = 110) -> str:
    """The `environment:` part of `python -m dwh.main --help`, from VARIABLES."""
    import textwrap

    lines = ["environment:"]
    for var in VARIABLES:
        if var.name == "DWH_TEST_POSTGRES_URL":
            continue
        text = f"{_plain(var.help)} ({var.type}; default {_plain(var.default)})"
        name = var.name if len(var.name) <= 26 else var.name + "\n" + " " * 30
        body = textwrap.wrap(text, width - 30) or [""]
        first = f"  {name:<28}" if len(var.name) <= 26 else f"  {name}"
        lines.append(first + body[0])
        lines += [" " * 30 + more for more in body[1:]]
    return "\n".join(lines) + "\n"


def readme_table() -> str:
    """The README's table of variables, from VARIABLES."""
    rows = ["| variable | type | meaning | default |", "|---|---|---|---|"]
    for var in VARIABLES:
        names = ", ".join(f"`{n.strip()}`" for n in var.name.split(","))
        rows.append(f"| {names} | {var.type} | {var.help} | {var.default} |")
    return "\n".join(rows) + "\n"


def env_example() -> str:
    """.env.example: every variable, commented out, with its help and an example value where one makes sense."""
    lines = ["# dwh's environment variables (generated from dwh/settings.py by `python -m dwh.docs`).", ""]
    for var in VARIABLES:
        for name in (n.strip() for n in var.name.split(",")):
            lines.append(f"# {_plain(var.help)} (default {_plain(var.default)})")
            value = var.example if var.example else ("1" if name.startswith("DLT__") else "")
            shown = name.replace("<TABLE>", "STUDENTS") if "<TABLE>" in name else name
            lines.append(f"# {shown}={value}")
            lines.append("")
    return "\n".join(lines)


# -- the run's settings, read and checked once ----------------------------------------------------------


DEFAULT_INCREMENTAL_START = datetime.date(1900, 1, 1)
LAG_DAYS_PREFIX = "DWH_LAG_DAYS_"


def bronze_resources(env: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
    """DWH_BRONZE_RESOURCES=students,personas selects bronze tables; None (unset or empty) means all."""
    raw = (_env("DWH_BRONZE_RESOURCES", env) or "").strip()
    if not raw:
        return None
    from dwh.sources.catalog import TABLES  # the catalog of bronze tables names the valid values

    wanted = [name.strip() for name in raw.split(",") if name.strip()]
    valid = [t.name for t in TABLES]
    unknown = [name for name in wanted if name not in valid]
    if unknown:
        raise ConfigError(
            f"DWH_BRONZE_RESOURCES: unknown resource(s) {', '.join(unknown)}; valid names: {', '.join(valid)}"
        )
    return tuple(name for name in valid if name in wanted)


RECONCILE_POLICIES = ("auto", "nightly", "weekly", "off")


def reconcile_policy(env: Mapping[str, str] | None = None) -> str:
    """DWH_RECONCILE: when deleted source rows are removed from bronze (dwh.pipelines.reconcile)."""
    raw = (_env("DWH_RECONCILE", env) or "auto").strip().lower()
    if raw not in RECONCILE_POLICIES:
        raise ConfigError(f"DWH_RECONCILE={raw!r} must be one of {', '.join(RECONCILE_POLICIES)}")
    return raw


def incremental_start(env: Mapping[str, str] | None = None) -> datetime.date:
    """DWH_INCREMENTAL_START_DATE=YYYY-MM-DD: where a table's cursor starts when it has no state yet."""
    raw = (_env("DWH_INCREMENTAL_START_DATE", env) or "").strip()
    if not raw:
        return DEFAULT_INCREMENTAL_START
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ConfigError(f"DWH_INCREMENTAL_START_DATE={raw!r} is not a date in YYYY-MM-DD form")
    try:
        value = datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"DWH_INCREMENTAL_START_DATE={raw!r} is not a valid date: {exc}") from None
    if value > datetime.date.today():
        raise ConfigError(f"DWH_INCREMENTAL_START_DATE={raw} is in the future")
    return value


def lag_days_override(table: str, env: Mapping[str, str] | None = None) -> int | None:
    """DWH_LAG_DAYS_<TABLE>: the table's look-back window in days, None when unset."""
    var = f"{LAG_DAYS_PREFIX}{table.upper()}"
    raw = _env(var, env)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ConfigError(f"{var}={raw!r} must be a whole number of days")
    return int(raw)


def is_set(name: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether the variable has a non-empty value."""
    return bool(_env(name, env))


def _optional_path(name: str, env: Mapping[str, str] | None) -> Path | None:
    raw = _env(name, env)
    return Path(raw).expanduser().resolve() if raw else None


def published_override(env: Mapping[str, str] | None = None) -> Path | None:
    return _optional_path("DWH_PUBLISHED_PATH", env)


def key_file_override(env: Mapping[str, str] | None = None) -> Path | None:
    return _optional_path("DWH_KEY_FILE", env)


def hash_salt(env: Mapping[str, str] | None = None) -> str | None:
    return _env("DWH_HASH_SALT", env) or None


def seeds_dir(env: Mapping[str, str] | None = None) -> Path | None:
    raw = _env("DWH_SEEDS_DIR", env)
    return Path(raw) if raw else None


def models_dir(env: Mapping[str, str] | None = None) -> Path:
    """$DWH_MODELS_DIR, else models/ beside the warehouse."""
    return _optional_path("DWH_MODELS_DIR", env) or warehouse_path(env).parent / "models"


def log_level(env: Mapping[str, str] | None = None) -> str | None:
    return _env("DWH_LOG_LEVEL", env) or None


def demo_students(env: Mapping[str, str] | None = None) -> int:
    raw = _env("DWH_DEMO_STUDENTS", env) or "5000"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"DWH_DEMO_STUDENTS={raw!r} must be a positive whole number")
    return int(raw)


def dashboard_port(env: Mapping[str, str] | None = None) -> str | None:
    """$DWH_DASHBOARD_PORT as given (the dashboard's argument parser converts and checks it)."""
    return _env("DWH_DASHBOARD_PORT", env) or None


def dashboard_threads(env: Mapping[str, str] | None = None) -> str | None:
    """$DWH_DASHBOARD_THREADS as given, stripped (the dashboard's server checks its range)."""
    return (_env("DWH_DASHBOARD_THREADS", env) or "").strip() or None


def dashboard_secret(env: Mapping[str, str] | None = None) -> str | None:
    """$DWH_DASHBOARD_SECRET (the key that signs session cookies), if set."""
    return _env("DWH_DASHBOARD_SECRET", env) or None


def dashboard_secret_file(env: Mapping[str, str] | None = None) -> Path | None:
    """$DWH_DASHBOARD_SECRET_FILE, if set."""
    raw = (_env("DWH_DASHBOARD_SECRET_FILE", env) or "").strip()
    return Path(raw) if raw else None


def devdb_dir(env: Mapping[str, str] | None = None) -> Path:
    """$DWH_DEVDB_DIR, else ./.devdb."""
    raw = _env("DWH_DEVDB_DIR", env)
    return (Path(raw) if raw else Path.cwd() / ".devdb").expanduser().resolve()


@dataclass(frozen=True)
class RunSettings:
    """Everything a pipeline run takes from the environment, read and checked once before any file is opened."""

    config_path: Path
    warehouse: Path
    published: Path
    as_of: datetime.date
    time_zone: str
    bronze_resources: tuple[str, ...] | None
    incremental_start: datetime.date
    lag_days: Mapping[str, int]
    seeds_dir: Path | None
    key_file: Path
    app_db: str = field(repr=False)
    hash_salt: str | None = field(default=None, repr=False)
    reconcile: str = "auto"
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT  # None: DuckDB's own default (DWH_MEMORY_LIMIT=none)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RunSettings:
        """Read every run variable; ConfigError (exit 2) names the first bad one."""
        from dwh.sources.catalog import TABLES  # the lag windows are per catalog table

        warehouse = warehouse_path(env)
        lags = {t.name: days for t in TABLES if (days := lag_days_override(t.name, env)) is not None}
        return cls(
            config_path=default_config_path(env),
            warehouse=warehouse,
            published=published_override(env) or warehouse.parent / "published" / warehouse.name,
            as_of=as_of_date(env),
            time_zone=time_zone(env),
            bronze_resources=bronze_resources(env),
            incremental_start=incremental_start(env),
            lag_days=lags,
            seeds_dir=seeds_dir(env),
            key_file=key_file_override(env) or warehouse.with_name(warehouse.name + ".key"),
            app_db=app_db_url(env),
            hash_salt=hash_salt(env),
            reconcile=reconcile_policy(env),
            memory_limit=memory_limit(env),
        )
