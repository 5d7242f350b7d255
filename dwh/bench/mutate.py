"""One night of source activity for the incremental benchmark: about `fraction` new and changed rows.

Written with a normal read-write connection, in one transaction per database, keeping every foreign key
valid. "Recent" means near the end of the data (its latest dates), so the changes land in bronze's look-back
windows whatever `--until` the sources were generated with; new rows are dated within the last 20 hours.

Guaraní, per source (fractions of each table's rows):
- sga_insc_cursada: 0.7·f late inscriptions (fuera de término) into comisiones of the latest period, for
  students already studying in it; 0.3·f estado changes A -> B (baja) of the most recent inscriptions
  (inside the last 30 days of the data).
- sga_insc_examen: f inscriptions to a new exam call (sga_llamados_turno + one sga_llamados_mesa per mesa,
  two weeks from today) by students who regularized the subject in one of the two latest periods.
- sga_actas_detalle: f grade corrections (nota, resultado, rectificado = 'S') of results dated in the last
  30 days of the data.
- sga_actas_detalle: 0.1·f grade corrections of results more than two years old (only row versions see them).
- sga_reinscripciones: f reinscriptions for the next academic year by students of the latest period; 0.1·f of
  the oldest ones deleted (only the key reconciliation sees them).
Moodle: f new mdl_logstore_standard_log events (copies of events of the last 30 days of the data, by the same
users in the same courses), timed within the last 20 hours.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from dwh.settings import SourceDatabase, time_zone

log = logging.getLogger("dwh.bench.mutate")
RECENT_DAYS = 30
EXAM_CALL_IN_DAYS = 14


@dataclass
class Delta:
    """Rows written to one source: {table: (inserted, updated)} and the size of those tables before."""

    source: str
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)
    table_rows: int = 0

    @property
    def inserted(self) -> int:
        return sum(i for i, _ in self.changes.values())

    @property
    def updated(self) -> int:
        return sum(u for _, u in self.changes.values())


def _connect(source: SourceDatabase):
    engine = sa.create_engine(
        source.conn_string,
        poolclass=sa.pool.NullPool,
        connect_args={"options": f"-c TimeZone={time_zone()}", "application_name": "dwh_bench_mutate"},
    )
    return engine.raw_connection()


def _scalar(cur, sql: str, params: dict | None = None):
    cur.execute(sql, params or {})
    row = cur.fetchone()
    return row[0] if row else None


def _count(cur, table: str) -> int:
    return int(_scalar(cur, f"SELECT count(*) FROM {table}"))


def _latest_periods(cur, k: int) -> list[int]:
    """The k latest periodos lectivos that have comisiones and have started."""
    cur.execute(
        """
        SELECT pl.periodo_lectivo FROM negocio.sga_periodos_lectivos pl
        WHERE pl.fecha_inicio_dictado <= CURRENT_DATE
          AND EXISTS (SELECT 1 FROM negocio.sga_comisiones c WHERE c.periodo_lectivo = pl.periodo_lectivo)
        ORDER BY pl.fecha_inicio_dictado DESC LIMIT %(k)s""",
        {"k": k},
    )
    return [r[0] for r in cur.fetchall()]


def _cursada_estado_changes(cur, n: int) -> tuple[int, int]:
    """Baja of the n most recent accepted inscriptions; returns (changed, changed inside the 30-day window)."""
    cur.execute(
        f"""
        WITH pick AS (
            SELECT inscripcion, fecha_inscripcion >= max(fecha_inscripcion) OVER () - interval '{RECENT_DAYS} days'
                   AS recent
            FROM negocio.sga_insc_cursada WHERE estado = 'A'
            ORDER BY fecha_inscripcion DESC LIMIT %(n)s)
        UPDATE negocio.sga_insc_cursada i SET estado = 'B' FROM pick
        WHERE i.inscripcion = pick.inscripcion RETURNING pick.recent""",
        {"n": n},
    )
    flags = [r[0] for r in cur.fetchall()]
    return len(flags), sum(flags)


def _new_cursadas(cur, period: int, n: int) -> int:
    """Late inscriptions into another comisión offered, in the same period and sede, to the student's plan."""
    cur.execute(
        """
        WITH pl_insc AS MATERIALIZED (
            SELECT i.alumno, i.plan_version, i.comision, c.ubicacion
            FROM negocio.sga_insc_cursada i JOIN negocio.sga_comisiones c ON c.comision = i.comision
            WHERE c.periodo_lectivo = %(pl)s),
        offer AS (SELECT DISTINCT plan_version, ubicacion, comision FROM pl_insc),
        picked AS (SELECT alumno, plan_version, ubicacion
                   FROM (SELECT DISTINCT alumno, plan_version, ubicacion FROM pl_insc) s
                   ORDER BY random() LIMIT %(n)s),
        choice AS (SELECT DISTINCT ON (p.alumno) p.alumno, p.plan_version, o.comision
                   FROM picked p JOIN offer o ON o.plan_version = p.plan_version AND o.ubicacion = p.ubicacion
                   WHERE NOT EXISTS (SELECT 1 FROM pl_insc x WHERE x.alumno = p.alumno AND x.comision = o.comision)
                   ORDER BY p.alumno, random()),
        base AS (SELECT COALESCE(max(nro_transaccion), 0) AS nro FROM negocio.sga_insc_cursada)
        INSERT INTO negocio.sga_insc_cursada
            (alumno, comision, plan_version, tipo, estado, fecha_inscripcion, fuera_de_termino, nro_transaccion)
        SELECT choice.alumno, choice.comision, choice.plan_version, 'I', 'A',
               now() - random() * interval '20 hours', 'S', base.nro + row_number() OVER ()
        FROM choice, base""",
        {"pl": period, "n": n},
    )
    return cur.rowcount


def _new_exam_call(cur) -> tuple[int, int]:
    """A new llamado (turno by month: Feb-Mar 1, Jun-Aug 2, else 3) with one llamado_mesa per mesa."""
    llamado = int(_scalar(cur, "SELECT COALESCE(max(llamado), 0) + 1 FROM negocio.sga_llamados_turno"))
    day = dt.date.today() + dt.timedelta(days=EXAM_CALL_IN_DAYS)
    turno = 1 if day.month in (2, 3) else 2 if day.month in (6, 7, 8) else 3
    cur.execute(
        "INSERT INTO negocio.sga_llamados_turno (llamado, turno_examen) VALUES (%(l)s, %(t)s)",
        {"l": llamado, "t": turno},
    )
    fecha_type = _scalar(
        cur,
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'negocio' "
        "AND table_name = 'sga_llamados_mesa' AND column_name = 'fecha'",
    )
    # Some deployments keep the exam date as TIMESTAMPTZ (the start time, Buenos Aires).
    fecha = "%(day)s::date + time '09:00'" if fecha_type.startswith("timestamp") else "%(day)s::date"
    cur.execute(
        f"""
        INSERT INTO negocio.sga_llamados_mesa (mesa_examen, llamado, fecha, hora_inicio, estado)
        SELECT mesa_examen, %(l)s, {fecha}, time '09:00', 'A' FROM negocio.sga_mesas_examen""",
        {"l": llamado, "day": day},
    )
    return llamado, cur.rowcount


def _new_exam_inscriptions(cur, llamado: int, periods: list[int], n: int) -> int:
    cur.execute(
        """
        WITH elig AS (
            SELECT DISTINCT ON (ad.alumno, lm.llamado_mesa) ad.alumno, lm.llamado_mesa, ad.plan_version
            FROM negocio.sga_actas a
            JOIN negocio.sga_actas_detalle ad ON ad.id_acta = a.id_acta
            JOIN negocio.sga_comisiones c ON c.comision = a.comision
            JOIN negocio.sga_mesas_examen me ON me.elemento = c.elemento AND me.ubicacion = c.ubicacion
            JOIN negocio.sga_llamados_mesa lm ON lm.mesa_examen = me.mesa_examen AND lm.llamado = %(l)s
            WHERE a.origen = 'R' AND ad.resultado = 'A' AND ad.estado = 'A' AND c.periodo_lectivo = ANY(%(pl)s)
            ORDER BY ad.alumno, lm.llamado_mesa)
        INSERT INTO negocio.sga_insc_examen (alumno, llamado_mesa, plan_version, instancia, estado, fecha_inscripcion)
        SELECT alumno, llamado_mesa, plan_version, 3, 'A', now() - random() * interval '20 hours'
        FROM (SELECT * FROM elig ORDER BY random() LIMIT %(n)s) s
        ON CONFLICT DO NOTHING""",
        {"l": llamado, "pl": periods, "n": n},
    )
    return cur.rowcount


def _grade_corrections(cur, n: int) -> int:
    """Rectified grades of numeric results dated in the last 30 days of the data."""
    cur.execute(
        f"""
        WITH recent AS (SELECT max(fecha)::date - {RECENT_DAYS} AS since FROM negocio.sga_actas_detalle),
        pick AS (
            SELECT ad.id_acta, ad.alumno, a.origen,
                   CASE WHEN a.origen = 'P' THEN 7 + floor(random() * 4) ELSE 1 + floor(random() * 10) END AS g
            FROM negocio.sga_actas_detalle ad
            JOIN negocio.sga_actas a ON a.id_acta = ad.id_acta, recent
            WHERE ad.fecha >= recent.since AND ad.estado = 'A' AND ad.nota ~ '^[0-9]+(,[0-9]+)?$'
            ORDER BY random() LIMIT %(n)s)
        UPDATE negocio.sga_actas_detalle ad
        SET nota = pick.g::int::text,
            resultado = CASE WHEN pick.origen = 'P' THEN 'P' WHEN pick.g >= 4 THEN 'A' ELSE 'R' END,
            rectificado = 'S'
        FROM pick WHERE ad.id_acta = pick.id_acta AND ad.alumno = pick.alumno""",
        {"n": n},
    )
    return cur.rowcount


def _old_grade_corrections(cur, n: int) -> int:
    """Numeric grades of results more than two years old, changed in place (no date moves)."""
    cur.execute(
        """
        WITH pick AS (
            SELECT ad.id_acta, ad.alumno FROM negocio.sga_actas_detalle ad
            WHERE ad.fecha < (SELECT max(fecha)::date - 730 FROM negocio.sga_actas_detalle)
              AND ad.estado = 'A' AND ad.nota ~ '^[0-9]+$'
            ORDER BY random() LIMIT %(n)s)
        UPDATE negocio.sga_actas_detalle ad
        SET nota = CASE WHEN ad.nota = '10' THEN '9' ELSE (ad.nota::int + 1)::text END
        FROM pick WHERE ad.id_acta = pick.id_acta AND ad.alumno = pick.alumno""",
        {"n": n},
    )
    return cur.rowcount


def _deleted_reinscriptions(cur, n: int) -> int:
    cur.execute(
        """
        DELETE FROM negocio.sga_reinscripciones WHERE reinscripcion IN (
            SELECT reinscripcion FROM negocio.sga_reinscripciones ORDER BY fecha_reinscripcion LIMIT %(n)s)""",
        {"n": n},
    )
    return cur.rowcount


def _new_reinscriptions(cur, period: int, n: int) -> int:
    """Reinscriptions for the next academic year (the latest one Guaraní knows, if next is not there yet)."""
    today = dt.date.today()
    next_year = (today.year if today.month >= 3 else today.year - 1) + 1
    anio = _scalar(
        cur,
        "SELECT max(anio_academico) FROM negocio.sga_anios_academicos WHERE anio_academico <= %(y)s",
        {"y": next_year},
    )
    cur.execute(
        """
        WITH base AS (SELECT COALESCE(max(nro_transaccion), 0) AS nro FROM negocio.sga_reinscripciones),
        who AS (
            SELECT alumno FROM (
                SELECT DISTINCT i.alumno FROM negocio.sga_insc_cursada i
                JOIN negocio.sga_comisiones c ON c.comision = i.comision
                WHERE c.periodo_lectivo = %(pl)s
                  AND NOT EXISTS (SELECT 1 FROM negocio.sga_reinscripciones r
                                  WHERE r.alumno = i.alumno AND r.anio_academico = %(anio)s)) s
            ORDER BY random() LIMIT %(n)s)
        INSERT INTO negocio.sga_reinscripciones (alumno, anio_academico, fecha_reinscripcion, nro_transaccion)
        SELECT who.alumno, %(anio)s, now() - random() * interval '20 hours', base.nro + row_number() OVER ()
        FROM who, base""",
        {"pl": period, "anio": anio, "n": n},
    )
    return cur.rowcount


def mutate_guarani(source: SourceDatabase, fraction: float, seed: float = 0.42) -> Delta:
    conn = _connect(source)
    delta = Delta(source.name)
    try:
        cur = conn.cursor()
        cur.execute("SELECT setseed(%(s)s)", {"s": seed})
        sizes = {
            t: _count(cur, f"negocio.{t}")
            for t in ("sga_insc_cursada", "sga_insc_examen", "sga_actas_detalle", "sga_reinscripciones")
        }
        delta.table_rows = sum(sizes.values())
        periods = _latest_periods(cur, 2)
        changed, recent = _cursada_estado_changes(cur, round(0.3 * fraction * sizes["sga_insc_cursada"]))
        if recent < changed:
            log.info(
                "%s: %d of %d estado changes are inside the last %d days", source.name, recent, changed, RECENT_DAYS
            )
        new = _new_cursadas(cur, periods[0], round(0.7 * fraction * sizes["sga_insc_cursada"]))
        delta.changes["sga_insc_cursada"] = (new, changed)
        llamado, mesas = _new_exam_call(cur)
        delta.changes["sga_llamados_turno"] = (1, 0)
        delta.changes["sga_llamados_mesa"] = (mesas, 0)
        delta.changes["sga_insc_examen"] = (
            _new_exam_inscriptions(cur, llamado, periods, round(fraction * sizes["sga_insc_examen"])),
            0,
        )
        delta.changes["sga_actas_detalle"] = (0, _grade_corrections(cur, round(fraction * sizes["sga_actas_detalle"])))
        delta.changes["sga_reinscripciones"] = (
            _new_reinscriptions(cur, periods[0], round(fraction * sizes["sga_reinscripciones"])),
            0,
        )
        delta.changes["sga_actas_detalle (older than 2 years)"] = (
            0,
            _old_grade_corrections(cur, round(0.1 * fraction * sizes["sga_actas_detalle"])),
        )
        delta.changes["sga_reinscripciones (deleted)"] = (
            0,
            _deleted_reinscriptions(cur, round(0.1 * fraction * sizes["sga_reinscripciones"])),
        )
        conn.commit()
    finally:
        conn.close()
    return delta


def mutate_moodle(source: SourceDatabase, fraction: float, seed: float = 0.42) -> Delta:
    conn = _connect(source)
    delta = Delta(source.name)
    try:
        cur = conn.cursor()
        cur.execute("SELECT setseed(%(s)s)", {"s": seed})
        delta.table_rows = _count(cur, "mdl_logstore_standard_log")
        n = round(fraction * delta.table_rows)
        cols = (
            "eventname, component, action, target, objecttable, objectid, crud, edulevel, contextid, "
            "contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, origin, ip, "
            "realuserid"
        )
        # Sampled with replacement, so a short recent window still gives n events.
        cur.execute(
            f"""
            WITH recent AS MATERIALIZED (
                SELECT row_number() OVER () AS rn, {cols} FROM mdl_logstore_standard_log
                WHERE timecreated >= (SELECT max(timecreated) FROM mdl_logstore_standard_log) - {RECENT_DAYS} * 86400),
            size AS (SELECT count(*) AS k FROM recent),
            draws AS (SELECT 1 + floor(random() * size.k)::bigint AS rn FROM generate_series(1, %(n)s), size
                      WHERE size.k > 0)
            INSERT INTO mdl_logstore_standard_log (id, {cols}, timecreated)
            SELECT nextval('mdl_logstore_standard_log_id_seq'), {cols},
                   extract(epoch FROM now())::bigint - floor(random() * 72000)::bigint
            FROM draws JOIN recent USING (rn)""",
            {"n": n},
        )
        delta.changes["mdl_logstore_standard_log"] = (cur.rowcount, 0)
        conn.commit()
    finally:
        conn.close()
    return delta


def mutate(sources: list[SourceDatabase], fraction: float) -> list[Delta]:
    """Apply one night of activity to every source; returns what was written where."""
    deltas = []
    for source in sources:
        delta = mutate_moodle(source, fraction) if source.kind == "moodle" else mutate_guarani(source, fraction)
        log.info(
            "%s: %s rows inserted, %s updated (%s)",
            source.name,
            f"{delta.inserted:,}",
            f"{delta.updated:,}",
            ", ".join(f"{t} +{i}/~{u}" for t, (i, u) in delta.changes.items()),
        )
        deltas.append(delta)
    return deltas
