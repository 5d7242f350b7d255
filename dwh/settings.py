"""Load and validate the source list and the warehouse/run settings from files and the environment."""

from __future__ import annotations

import datetime
import os
import re
import runpy
import zoneinfo
from dataclasses import dataclass
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


def default_config_path() -> Path:
    env = os.environ.get("DWH_CONFIG")
    return Path(env) if env else PACKAGE_DIR / "config.py"


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
        value = os.environ.get(var, "").strip()
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


def warehouse_path() -> Path:
    """The DuckDB warehouse file: $DWH_DUCKDB_PATH, else <package>/data/warehouse.duckdb."""
    env = os.environ.get("DWH_DUCKDB_PATH")
    path = Path(env) if env else PACKAGE_DIR / "data" / "warehouse.duckdb"
    return path.expanduser().resolve()


def app_db_url() -> str:
    """The operational application database (interventions, audit): $DWH_APP_DB, else app.sqlite beside the warehouse.

    $DWH_APP_DB is a SQLAlchemy PostgreSQL or SQLite URL, or the path of a SQLite file.
    """
    raw = os.environ.get("DWH_APP_DB", "").strip()
    if not raw:
        return sqlite_url(warehouse_path().parent / APP_DB_FILE)
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


def time_zone() -> str:
    """$DWH_TIMEZONE (an IANA zone name), default America/Argentina/Buenos_Aires.

    The one clock of the warehouse: bronze reads source instants as days on it, silver and gold cast
    instants to days on it.
    """
    raw = os.environ.get("DWH_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"DWH_TIMEZONE={raw!r} is not a known time zone (e.g. America/Argentina/Buenos_Aires)"
        ) from None
    return raw


def as_of_date() -> datetime.date:
    """The run's reference date: $DWH_AS_OF (YYYY-MM-DD), else today."""
    raw = os.environ.get("DWH_AS_OF", "").strip()
    if not raw:
        return datetime.date.today()
    try:
        if not _DATE_RE.match(raw):
            raise ValueError(raw)
        return datetime.datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"DWH_AS_OF={raw!r} is not a date in YYYY-MM-DD form") from None
