"""The pseudonym key: a secret outside the warehouse under which person keys are HMAC-SHA256, and its checks."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

import duckdb

from dwh import duck
from dwh.settings import ConfigError, hash_salt, key_file_override

log = logging.getLogger("dwh.keys")

KEY_BYTES = 32
# The width of every key column (md5's, before keys were HMACs): 128 bits of HMAC-SHA256.
PSEUDONYM_HEX = 32
META_TABLE = "dwh_meta.pseudonym_key"
FINGERPRINT_MESSAGE = b"dwh pseudonym key fingerprint"


class KeyFileError(ConfigError):
    """The key file is missing where the warehouse needs it, malformed, or readable by others."""


def key_path(warehouse: Path) -> Path:
    """$DWH_KEY_FILE, else <warehouse name>.key beside the warehouse (never inside it, never in published/)."""
    return key_file_override() or warehouse.with_name(warehouse.name + ".key")


def key_from_salt(salt: str) -> bytes:
    """The key DWH_HASH_SALT stands for (tests and reproducible builds): sha256 of its text."""
    return hashlib.sha256(salt.encode("utf-8")).digest()


def pseudonym(key: bytes, domain: str, natural_key: object) -> str:
    """HMAC-SHA256(key, '<domain>|<natural key>'), 32 hex characters: what silver.pseudonym() gives in SQL."""
    message = f"{domain}|{natural_key}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def fingerprint(key: bytes) -> str:
    """A public trace of the key (an HMAC of a fixed text): tells whether a key file is the warehouse's."""
    return hmac.new(key, FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def sql_variables(key: bytes) -> dict[str, str]:
    """The session variables silver's SQL reads the key from (hex): the key and its HMAC blocks, given here so
    that the XOR is not redone for every row (it doubled the cost of a key)."""
    block = key.ljust(64, b"\0")
    return {
        "pseudonym_key": key.hex(),
        "pseudonym_ipad": bytes(b ^ 0x36 for b in block).hex(),
        "pseudonym_opad": bytes(b ^ 0x5C for b in block).hex(),
    }


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the pseudonym key file {path} can be read by other users (mode {stat.S_IMODE(mode):o}): "
            f"run chmod 400 {path} and start again"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"the pseudonym key file {path} is not {KEY_BYTES * 2} hexadecimal characters: restore it from "
            "your backup (it was written by the first run of this warehouse)"
        )
    return key


def read_key(warehouse: Path) -> bytes:
    """The key of this warehouse's pseudonyms, for readers (never creates one): DWH_HASH_SALT's, else the file's."""
    salt = hash_salt()
    if salt:
        return key_from_salt(salt)
    path = key_path(warehouse)
    if not path.exists():
        raise KeyFileError(f"no pseudonym key file at {path} (set DWH_KEY_FILE or DWH_DUCKDB_PATH to the pipeline's)")
    return _read(path)


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a temporary file (0o400 from the start), then linked to its name: a run killed
    # midway never leaves a short key file, and link() fails rather than replace a key that appeared.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink()
    log.warning(
        "created the pseudonym key file %s (32 random bytes, mode 0400): back it up now; without it the "
        "next run cannot rebuild silver with the same student keys",
        path,
    )
    return key


def _recorded(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'dwh_meta' AND table_name = 'pseudonym_key'"
    ).fetchone()[0]  # type: ignore[index]  # count(*): one row
    if not exists:
        return None
    row = con.execute(f"SELECT fingerprint FROM {META_TABLE} LIMIT 1").fetchone()
    return row[0] if row else None


def warehouse_key(warehouse: Path, key_file: Path | None = None, salt: str | None = None) -> bytes:
    """The key silver builds with, checked against the warehouse; creates the key file on a first run.

    The warehouse records the key's fingerprint (not the key). A missing key file when the warehouse already
    has keys never mints a new one: every student key would change and no longer match the interventions
    and predictions recorded under the old ones. The old in-warehouse salt (dwh_meta.secrets) is dropped.
    """
    if key_file is None:  # not given by the run's settings: the environment's
        salt, key_file = hash_salt(), key_path(warehouse)
    path = key_file
    with duck.connect(str(warehouse), stage="silver") as con:
        recorded = _recorded(con)
        if salt:
            key = key_from_salt(salt)
            source = "DWH_HASH_SALT"
        elif path.exists():
            key = _read(path)
            source = str(path)
        elif recorded is not None:
            raise KeyFileError(
                f"the pseudonym key file {path} is missing, and the warehouse {warehouse} has keys made with it "
                f"(fingerprint {recorded}): restore the file from your backup (mode 0400) or point DWH_KEY_FILE "
                "at it; to start over with new keys, use a new warehouse file (DWH_DUCKDB_PATH) instead"
            )
        else:
            key = _create(path)
            source = str(path)
        mine = fingerprint(key)
        if recorded is not None and recorded != mine:
            raise KeyFileError(
                f"the pseudonym key from {source} (fingerprint {mine}) is not the one the warehouse {warehouse} "
                f"was built with (fingerprint {recorded}): restore the right key file, or use a new warehouse file"
            )
        if recorded is None:
            con.execute("CREATE SCHEMA IF NOT EXISTS dwh_meta")
            con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (fingerprint VARCHAR, recorded_at TIMESTAMPTZ)")
            con.execute(f"INSERT INTO {META_TABLE} VALUES (?, now())", [mine])
            log.info("warehouse %s: pseudonym key fingerprint %s recorded", warehouse, mine)
        con.execute("DROP TABLE IF EXISTS dwh_meta.secrets")
    return key
