"""Identities apart from the warehouse, on a real pipeline run over a small synthetic university: the published
file holds no DNI, name, e-mail or legajo in any column or byte; contactos.duckdb holds them, mode 0400; person
keys are HMACs under a key file outside the warehouse, stable across runs, and a lost key file stops the run."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from bronze_support import wh, write_config
from pg_util import query

from dwh.ops.contacts import contacts_path, read_contacts
from dwh.ops.keys import fingerprint, key_from_salt, pseudonym, sql_variables

AS_OF = "2025-11-27"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
DNI = re.compile(r"(?<!\d)\d{7,8}(?!\d)")


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(DWH_CONFIG=str(workdir / "config.py"), DWH_DUCKDB_PATH=str(workdir / "warehouse.duckdb"))
    env.update(DWH_AS_OF=AS_OF, **extra)
    return env


def run_main(workdir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dwh.main", *args],
        env=_env(workdir, **extra),
        capture_output=True,
        text=True,
        timeout=900,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def university(make_synthetic, tmp_path_factory) -> dict:
    """One realistic synthetic university, run once without DWH_HASH_SALT (so with a key file), and the
    identities its sources hold."""
    sources = make_synthetic(students=300, sources=2, years=4, seed=15)
    workdir = tmp_path_factory.mktemp("privacy")
    write_config(workdir / "config.py", {n: (u, "moodle" if n == "moodle" else "guarani") for n, u in sources.items()})
    done = run_main(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    people = {"dni": set(), "apellido": set(), "nombres": set(), "completo": set(), "email": set(), "legajo": set()}
    activos = 0
    for name, url in sources.items():
        if name == "moodle":
            continue
        for usuario, apellido, nombres in query(url, "SELECT usuario, apellido, nombres FROM negocio.mdp_personas"):
            if usuario:
                people["dni"].add(usuario.strip())
            people["apellido"].add(apellido.strip())
            people["nombres"].add(nombres.strip())
            people["completo"].add(f"{nombres.strip()} {apellido.strip()}")
            people["completo"].add(f"{apellido.strip()}, {nombres.strip()}")
        people["email"] |= {r[0] for r in query(url, "SELECT email FROM negocio.mdp_personas_contactos") if r[0]}
        people["legajo"] |= {r[0] for r in query(url, "SELECT legajo FROM negocio.sga_alumnos") if r[0]}
        activos += query(url, "SELECT count(*) FROM negocio.sga_alumnos WHERE calidad = 'A'")[0][0]
    assert min(len(v) for v in people.values()) > 20
    return {
        "dir": workdir,
        "warehouse": workdir / "warehouse.duckdb",
        "published": workdir / "published" / "warehouse.duckdb",
        "stderr": done.stderr,
        "people": people,
        "activos": activos,
        "sources": sources,
    }


def _columns(path: Path) -> list[tuple[str, str, str]]:
    return wh(
        path,
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() ORDER BY ALL",
    )


def scan(path: Path, people: dict, tables: set[str] | None = None) -> tuple[list[tuple], set[str]]:
    """Every column of every table (or of `tables`): (schema, table, column, counts) of those holding a DNI of
    the sources (also inside a longer text), any e-mail, a full name, e-mail or legajo of the sources as a
    whole value, or mostly first names and surnames of the sources; and the tables scanned."""
    seen, problems = set(), []
    with duckdb.connect(str(path), read_only=True) as con:
        for kind in ("dni", "apellido", "nombres", "completo", "email", "legajo"):
            con.execute(f"CREATE TEMP TABLE truth_{kind} (v VARCHAR)")
            con.executemany(f"INSERT INTO truth_{kind} VALUES (?)", [[v] for v in people[kind]])
        for schema, table, column in _columns(path):
            if tables is not None and f"{schema}.{table}" not in tables:
                continue
            seen.add(f"{schema}.{table}")
            value = f'CAST("{column}" AS VARCHAR)'
            source = f'"{schema}"."{table}"'
            dnis = con.execute(
                f"SELECT count(*) FROM (SELECT unnest(regexp_extract_all({value}, '\\d+')) AS d FROM {source}) "
                "WHERE length(d) BETWEEN 7 AND 8 AND d IN (SELECT v FROM truth_dni)"
            ).fetchone()[0]
            emails = con.execute(
                f"SELECT count(*) FROM {source} WHERE regexp_matches({value}, ?)", [EMAIL.pattern]
            ).fetchone()[0]
            exact = {
                kind: con.execute(
                    f"SELECT count(*) FROM {source} WHERE trim({value}) IN (SELECT v FROM truth_{kind})"
                ).fetchone()[0]
                for kind in ("completo", "email", "legajo", "dni")
            }
            distinct, names = con.execute(
                f"SELECT count(DISTINCT {value}), count(DISTINCT {value}) FILTER (WHERE trim({value}) IN "
                "(SELECT v FROM truth_apellido UNION ALL SELECT v FROM truth_nombres)) "
                f"FROM {source}"
            ).fetchone()
            if dnis or emails or any(exact.values()) or (distinct >= 5 and names > distinct / 2):
                problems.append((schema, table, column, dnis, emails, exact, names))
    return problems, seen


def test_the_scan_finds_identifiers_where_they_are(university):
    """The scan itself, on the working warehouse's bronze: it must flag the DNI, names, e-mail and legajo."""
    problems, _ = scan(university["warehouse"], university["people"], {"bronze.personas", "bronze.students"})
    flagged = {(t, c) for _, t, c, *_ in problems}
    assert {("personas", "usuario"), ("personas", "apellido"), ("personas", "nombres"), ("personas", "email")} <= (
        flagged
    )
    assert ("students", "legajo") in flagged


def test_no_column_of_the_published_warehouse_holds_a_dni_name_email_or_legajo(university):
    problems, seen_tables = scan(university["published"], university["people"])
    assert not problems, problems
    # the scan covered the layers readers use, and no raw bronze table but the freshness stubs
    assert {"gold.gold_tft_training_dataset", "silver.dim_student", "dwh_meta.run_log"} <= seen_tables
    assert "bronze.personas" not in seen_tables and "bronze.students" not in seen_tables
    assert "dwh_meta.secrets" not in seen_tables
    names = {c for _, _, c in _columns(university["published"])}
    assert not names & {"usuario", "fecha_nacimiento", "alumno", "persona", "login_hash", "apellido", "email"}
    assert not [n for n in names if n.startswith("disc_")]


def test_the_published_file_bytes_hold_no_known_dni_name_or_email(university):
    data = university["published"].read_bytes()
    people = university["people"]
    for kind in ("dni", "email", "completo", "legajo"):
        for value in sorted(people[kind])[:25]:
            assert value.encode() not in data, (kind, value)
    domains = {e.split("@", 1)[1] for e in people["email"]}
    assert all(f"@{d}".encode() not in data for d in domains)


def test_contacts_file_has_the_names_of_current_students_only_readable_by_its_owner(university):
    published = university["published"]
    path = contacts_path(published)
    assert path == published.parent / "contactos.duckdb"
    assert oct(path.stat().st_mode & 0o777) == "0o400"
    contacts = read_contacts(path)
    assert len(contacts) == university["activos"]
    people = university["people"]
    assert contacts["apellido"].isin(people["apellido"]).all() and contacts["nombres"].isin(people["nombres"]).all()
    assert contacts["email"].dropna().isin(people["email"]).all() and contacts["email"].notna().mean() > 0.9
    assert contacts["legajo"].dropna().isin(people["legajo"]).all() and contacts["legajo"].notna().any()
    assert contacts["propuesta"].notna().all() and contacts["sede"].notna().all()
    # alumno_key is gold's key: every student of the inference frame with a current career has a contact
    gold = {r[0] for r in wh(published, "SELECT DISTINCT alumno_key FROM gold.gold_tft_static_features")}
    assert set(contacts["alumno_key"]) & gold
    some = list(contacts["alumno_key"].head(3))
    assert list(read_contacts(path, some)["alumno_key"].sort_values()) == sorted(some)
    assert read_contacts(path, []).empty
    propuesta = contacts["propuesta"].iloc[0]
    assert (read_contacts(path, propuestas=[propuesta])["propuesta"] == propuesta).all()


def test_the_key_file_is_beside_the_warehouse_mode_0400_and_keys_are_its_hmacs(university):
    warehouse = university["warehouse"]
    key_file = warehouse.with_name("warehouse.duckdb.key")
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o400"
    assert key_file.parent != university["published"].parent
    assert "created the pseudonym key file" in university["stderr"]
    key = bytes.fromhex(key_file.read_text().strip())
    assert len(key) == 32
    rows = wh(warehouse, "SELECT source_db, alumno, alumno_key, persona_key FROM silver.dim_student")
    persons = dict(((s, a), p) for s, a, p in wh(warehouse, "SELECT source_db, alumno, persona FROM bronze.students"))
    assert rows
    for source_db, alumno, alumno_key, persona_key in rows:
        assert alumno_key == pseudonym(key, source_db, alumno)
        assert persona_key == pseudonym(key, source_db, persons[(source_db, alumno)])
        # not the old unkeyed md5 of source|alumno
        assert alumno_key != hashlib.md5(f"{source_db}|{alumno}".encode()).hexdigest()
    recorded = wh(warehouse, "SELECT fingerprint FROM dwh_meta.pseudonym_key")
    assert recorded == [(fingerprint(key),)]
    assert not wh(warehouse, "SELECT * FROM information_schema.tables WHERE table_name = 'secrets'")


def test_the_sql_hmac_is_pythons_hmac(university):
    key = os.urandom(32)
    texts = ["1", "guarani_a|123", "ñandú\\x41'", "", "a" * 200]
    with duckdb.connect(str(university["warehouse"]), read_only=True) as con:
        for name, value in sql_variables(key).items():
            con.execute(f"SET VARIABLE {name} = ?", [value])
        for text in texts:
            got = con.execute("SELECT silver.pseudonym('d', ?)", [text]).fetchone()[0]
            assert (
                got == hmac.new(key, f"d|{text}".encode(), hashlib.sha256).hexdigest()[:32] == pseudonym(key, "d", text)
            )
        for name in sql_variables(key):
            con.execute(f"RESET VARIABLE {name}")
        con.execute("SET VARIABLE hash_salt = 'sal'")
        assert con.execute("SELECT silver.pseudonym('d', 7)").fetchone()[0] == pseudonym(key_from_salt("sal"), "d", 7)


def _copy(university: dict, dest: Path, with_key: bool) -> Path:
    src = university["dir"]
    dest.mkdir()
    shutil.copy2(src / "config.py", dest / "config.py")
    shutil.copy2(src / "warehouse.duckdb", dest / "warehouse.duckdb")
    shutil.copytree(src / "warehouse.dlt", dest / "warehouse.dlt")
    shutil.copytree(src / "published", dest / "published")
    if with_key:
        shutil.copy2(src / "warehouse.duckdb.key", dest / "warehouse.duckdb.key")
    return dest


def test_a_missing_or_wrong_key_file_stops_the_run_with_exit_2_and_changes_nothing(university, tmp_path):
    work = _copy(university, tmp_path / "lost", with_key=False)
    before = sha256(work / "warehouse.duckdb"), sha256(work / "published" / "warehouse.duckdb")
    done = run_main(work)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"the pseudonym key file {work / 'warehouse.duckdb.key'} is missing" in done.stderr
    assert "restore the file from your backup" in done.stderr and "new warehouse file" in done.stderr
    assert not (work / "warehouse.duckdb.key").exists(), "a new key was minted"
    assert (sha256(work / "warehouse.duckdb"), sha256(work / "published" / "warehouse.duckdb")) == before
    # another key: refused as well
    other = work / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    other.chmod(0o400)
    done = run_main(work, "--layer", "silver", DWH_KEY_FILE=str(other))
    assert done.returncode == 2 and "is not the one the warehouse" in done.stderr, done.stderr[-3000:]
    # the right key, readable by others: refused until chmod 400
    loose = work / "loose.key"
    shutil.copyfile(university["dir"] / "warehouse.duckdb.key", loose)
    loose.chmod(0o644)
    done = run_main(work, "--layer", "silver", DWH_KEY_FILE=str(loose))
    assert done.returncode == 2 and f"chmod 400 {loose}" in done.stderr, done.stderr[-3000:]
    # restored (here through DWH_KEY_FILE): the run goes on
    loose.chmod(0o400)
    done = run_main(work, "--layer", "silver,gold", DWH_KEY_FILE=str(loose))
    assert done.returncode == 0, done.stderr[-3000:]


def test_keys_are_stable_across_runs(university, tmp_path):
    work = _copy(university, tmp_path / "again", with_key=True)
    keys_before = set(wh(work / "warehouse.duckdb", "SELECT source_db, alumno, alumno_key FROM silver.dim_student"))
    gold_before = set(
        wh(work / "published" / "warehouse.duckdb", "SELECT alumno_key FROM gold.gold_tft_static_features")
    )
    done = run_main(work)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "created the pseudonym key file" not in done.stderr
    assert set(wh(work / "warehouse.duckdb", "SELECT source_db, alumno, alumno_key FROM silver.dim_student")) == (
        keys_before
    )
    gold_after = set(
        wh(work / "published" / "warehouse.duckdb", "SELECT alumno_key FROM gold.gold_tft_static_features")
    )
    assert gold_after == gold_before
