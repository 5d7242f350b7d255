"""The demo: an embedded PostgreSQL, a synthetic university of about 5,000 students, and the pipeline."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dwh import devdb
from dwh import main as pipeline
from dwh.logs import setup_logging
from dwh.ops.publish import published_path
from dwh.settings import PACKAGE_DIR, demo_students, is_set, warehouse_path
from dwh.synthetic.generate import TRUTH_SCHEMA, generate, write_config
from dwh.synthetic.params import GeneratorConfig

log = logging.getLogger("dwh.demo")
DEMO_CONFIG = PACKAGE_DIR / "data" / "demo_config.py"


def _source_rows(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{TRUTH_SCHEMA}.table_counts"}).scalar():
                return int(conn.execute(text(f"SELECT sum(row_count) FROM {TRUTH_SCHEMA}.table_counts")).scalar())
            return int(conn.execute(text("SELECT sum(n_live_tup) FROM pg_stat_user_tables")).scalar() or 0)
    finally:
        engine.dispose()


def _warehouse_rows(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    from dwh import duck

    with duck.connect(str(path), read_only=True, stage="demo") as con:
        tables = con.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables()").fetchall()
    counts: dict[str, int] = {}
    for schema, table, size in tables:
        if schema in ("bronze", "silver", "gold") and not table.startswith("_"):
            counts[schema] = counts.get(schema, 0) + int(size or 0)
    return counts


def _score_with_the_tree(warehouse: Path) -> str | None:
    """Train and evaluate the tree (seconds), score the students at risk, and publish the scores, so the
    dashboard's risk view shows model probabilities with reasons. Any failure leaves the heuristic."""
    try:
        from dwh.ml.__main__ import main as ml
    except ImportError as exc:  # the ml extra is not installed
        log.warning("no model for the demo (%s): the risk view shows the heuristic", exc)
        return None
    if ml(["train", "--models", "arbol", "--bootstrap", "200"]) != 0 or ml(["predict"]) != 0:
        log.warning("the demo model could not be trained or used: the risk view shows the heuristic")
        return None
    from dwh.ops.lock import warehouse_lock
    from dwh.ops.publish import publish

    with warehouse_lock(warehouse, "python -m dwh.demo"):
        publish(warehouse)
    from dwh.ml import runs

    return f"arbol (LightGBM), run {runs.latest_run_dir().name}: scores and reasons published"


def _demo_users(warehouse: Path) -> list[tuple[str, str, str, str]]:
    """One user per role in the demo config, with fresh passwords: the tutor covers the program and site with
    the most students with a current career. Returns (user, role, password, scope) to print."""
    try:
        from dwh.dashboard.usuarios import ADMIN, DIRECCION, TUTOR, usuario_generado
    except ImportError as exc:  # the dashboard extra is not installed
        log.warning("no dashboard users for the demo (%s)", exc)
        return []
    from dwh.ops.contacts import contacts_path, read_contacts

    contactos = read_contacts(contacts_path(published_path(warehouse)))
    propuesta, sede = contactos.groupby(["propuesta", "sede"]).size().idxmax()
    usuarios = [
        ("tutora", TUTOR, [propuesta], [sede], f"{propuesta} · {sede}"),
        ("direccion", DIRECCION, None, None, "todas (sin nombres)"),
        ("admin", ADMIN, None, None, "usuarios y estado de los datos"),
    ]
    entradas, impresos = [], []
    for usuario, rol, propuestas, sedes, alcance in usuarios:
        entrada, clave = usuario_generado(usuario, rol, propuestas, sedes)
        entradas.append(entrada)
        impresos.append((usuario, rol, clave, alcance))
    texto = DEMO_CONFIG.read_text(encoding="utf-8").split("\nDASHBOARD_USERS = ")[0].rstrip("\n")
    DEMO_CONFIG.write_text(f"{texto}\n\nDASHBOARD_USERS = {entradas!r}\n", encoding="utf-8")
    return impresos


def _fresh_demo_warehouse() -> None:
    """The demo regenerates its sources, so an earlier demo's warehouse, key, contacts and models would mix two
    universities: start from nothing. Only the default demo location is cleared, never a configured one."""
    if is_set("DWH_DUCKDB_PATH") or is_set("DWH_PUBLISHED_PATH"):
        log.warning("DWH_DUCKDB_PATH or DWH_PUBLISHED_PATH is set: the demo loads into it as it is")
        return
    data = PACKAGE_DIR / "data"
    viejos = [p for p in data.glob("*") if p.name not in (".gitkeep", DEMO_CONFIG.name)]
    for p in viejos:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    if viejos:
        log.info("removed the previous demo's files in %s", data)


def main() -> int:
    setup_logging()
    _fresh_demo_warehouse()
    students = demo_students()
    admin_url = devdb.start(devdb.default_data_dir())
    cfg = GeneratorConfig(students=students, sources=2, seed=42, until=dt.date.today())
    sources = generate(cfg, admin_url)
    DEMO_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    write_config(DEMO_CONFIG, sources)
    # the contacts tutors record in the dashboard come back into the warehouse as a source (DWH_APP_DB)
    DEMO_CONFIG.write_text(
        DEMO_CONFIG.read_text(encoding="utf-8").replace(
            "\n]\n", '\n    {"name": "intervenciones", "kind": "intervenciones"},\n]\n'
        ),
        encoding="utf-8",
    )
    os.environ["DWH_CONFIG"] = str(DEMO_CONFIG)
    code = pipeline.main([])
    warehouse = warehouse_path()
    modelo = _score_with_the_tree(warehouse) if code == 0 else None
    usuarios = _demo_users(warehouse) if code == 0 else []
    lines = ["", "dwh demo", "--------", "sources (embedded PostgreSQL, stop it with `make devdb-stop`):"]
    lines += [f"  {s.name:<10} {s.kind:<8} {_source_rows(s.url):>12,} rows" for s in sources]
    layers = _warehouse_rows(warehouse)
    lines.append(f"warehouse: {warehouse}" + ("" if warehouse.exists() else " (not built yet)"))
    lines += [f"  {schema:<10} {rows:>12,} rows" for schema, rows in sorted(layers.items())]
    published = published_path(warehouse)
    lines.append(f"published copy for readers: {published}" + ("" if published.exists() else " (not published)"))
    lines.append(f"model: {modelo}" if modelo else "model: not trained (the risk view shows the heuristic)")
    if usuarios:
        lines.append("dashboard users (new passwords at every demo run):")
        lines += [f"  {u:<10} {rol:<10} password {clave}   {alcance}" for u, rol, clave, alcance in usuarios]
    lines += [
        "next:",
        f"  DWH_CONFIG={DEMO_CONFIG} .venv/bin/python -m dwh.main           # run the pipeline again",
        f"  DWH_CONFIG={DEMO_CONFIG} .venv/bin/python -m dwh.main status    # last runs, freshness, data tests",
        "  make dashboard                                          # then open http://127.0.0.1:8050 and log in",
        "  make test                                               # run the test suite",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
