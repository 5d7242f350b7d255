"""The sources as they stood on an earlier day: the full build's rows, cut and rolled back to the snapshot.

A snapshot is derived from the rows the generator builds for `until`, never re-simulated: the calendar,
the cohorts and every random draw are those of the full build, so each event row dated on or before
the snapshot has the same ids and values in both (the snapshot is a prefix of the full history).
What a snapshot changes:

- event rows dated after the snapshot day are gone (inscriptions, results and actas, status history,
  losses of regularity, reinscriptions, census answers, aspirant records, certificates, Moodle logs,
  attendance, enrolments, courses and users);
- rows that only exist because of such events go with them: students (sga_alumnos) whose first
  event is later, personas whose first aspirant record is later, comisiones, mesas, llamados and
  actas nobody has used yet, academic years and periods beyond the ones the full build would have
  created for a build ending on the snapshot day;
- state columns are read on the snapshot day: sga_alumnos calidad, regular, anio_cursada,
  cnt_readmisiones and provisional legajo; accumulated attendance of cuatrimestres under way counts
  only the classes held so far; aspirant records rejected later are still pending (situacion 1).

Days are Buenos Aires days (UTC-3): a row is "on or before the snapshot" when its local date is.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dwh.synthetic import catalogs, shapes
from dwh.synthetic.params import CLASSES_PER_CURSADA, academic_year
from dwh.synthetic.simulate import SourceWorld, day_number

LOCAL_UTC_OFFSET = 3 * 3600  # America/Argentina/Buenos_Aires, UTC-3 without daylight saving since 2009


def end_of_day(day: dt.date) -> int:
    """Epoch seconds of the first instant after the local day `day`."""
    return (day_number(day) + 1) * 86400 + LOCAL_UTC_OFFSET


def _col(t: pa.Table, name: str, fill: int = 0) -> np.ndarray:
    """A date (day number), timestamp (epoch seconds) or integer column as int64 numpy; NULL -> fill."""
    arr = t.column(name)
    if pa.types.is_date(arr.type):
        arr = arr.cast(pa.int32())
    elif pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.int64())
    return pc.fill_null(arr.cast(pa.int64()), fill).to_numpy()


def _local_day(t: pa.Table, name: str) -> np.ndarray:
    """Buenos Aires day numbers of a DATE, TIMESTAMPTZ or wall-clock TIMESTAMP column."""
    typ = t.schema.field(name).type
    values = _col(t, name)
    if pa.types.is_timestamp(typ):
        seconds = values if typ.unit == "s" else values // {"ms": 1000, "us": 10**6, "ns": 10**9}[typ.unit]
        return (seconds - (LOCAL_UTC_OFFSET if typ.tz else 0)) // 86400
    return values


def _isin(t: pa.Table, name: str, values: np.ndarray) -> np.ndarray:
    return np.isin(_col(t, name, -1), values)


def _filter(tables: dict[str, pa.Table], name: str, keep: np.ndarray) -> None:
    tables[name] = tables[name].filter(pa.array(keep, pa.bool_()))


def _replace(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return t.set_column(t.schema.get_field_index(name), t.schema.field(name), values.cast(t.schema.field(name).type))


def snapshot_guarani(tables: dict[str, pa.Table], world: SourceWorld, ids: dict, day: dt.date) -> dict[str, pa.Table]:
    """One Guaraní source's `negocio` rows (built for `until`) as they stood at the end of `day`."""
    cfg = world.config
    c = day_number(day)
    out = dict(tables)
    known = ids["known"]

    # A census answered again in place after the snapshot still holds its first answers.
    if "census_update" in known:
        _census_before_updates(out, known["census_update"], c)
    # Events, each by its own date.
    for name, column in (
        ("sga_alumnos_hist_calidad", "fecha"),
        ("sga_reinscripciones", "fecha_reinscripcion"),
        ("sga_insc_examen", "fecha_inscripcion"),
        ("sga_perdida_regularidad", "fecha"),
        ("mdp_datos_censales", "fecha_relevamiento"),
        ("sga_propuestas_aspira", "fecha_inscripcion"),
    ):
        _filter(out, name, _local_day(out[name], column) <= c)
    keep = _local_day(out["sga_insc_cursada"], "fecha_inscripcion") <= c
    _filter(out, "sga_insc_cursada", keep)
    # An inscription cancelled after the snapshot was still accepted then.
    baja_day = known["sga_insc_cursada_baja"][keep]
    insc = out["sga_insc_cursada"]
    still = pa.array((baja_day < 0) | (baja_day > c))
    out["sga_insc_cursada"] = _replace(insc, "estado", pc.if_else(still, pa.scalar("A"), insc["estado"]))
    # Results exist once their acta is closed; a certificate once it is issued.
    for name in ("sga_eval_detalle_cursadas", "sga_actas_detalle", "sga_certificados_otorg"):
        _filter(out, name, known[name] <= c)
    _filter(out, "sga_actas", _isin(out["sga_actas"], "id_acta", _col(out["sga_actas_detalle"], "id_acta")))

    # Aspirant records rejected after the snapshot are still pending on the snapshot day.
    aspira = out["sga_propuestas_aspira"]
    pending = _col(aspira, "fecha_rechazo", -1) > c
    aspira = _replace(aspira, "situacion_asp", pa.array(np.where(pending, 1, _col(aspira, "situacion_asp"))))
    aspira = _replace(
        aspira,
        "fecha_rechazo",
        pc.if_else(pa.array(pending), pa.nulls(len(pending), pa.date32()), aspira["fecha_rechazo"]),
    )
    out["sga_propuestas_aspira"] = aspira

    # Students exist from their first event on (normally the ingreso status record).
    alumno_tables = (
        "sga_alumnos_hist_calidad",
        "sga_insc_cursada",
        "sga_insc_examen",
        "sga_reinscripciones",
        "sga_perdida_regularidad",
        "sga_eval_detalle_cursadas",
        "sga_actas_detalle",
        "sga_certificados_otorg",
    )
    present = np.unique(np.concatenate([_col(out[t], "alumno") for t in alumno_tables]))
    out["sga_alumnos"] = _alumnos_on(out["sga_alumnos"], out["sga_alumnos_hist_calidad"], world, ids, day)
    _filter(out, "sga_alumnos", _isin(out["sga_alumnos"], "alumno", present))

    # Personas: from their first aspirant record, or as a student; teachers were always there.
    all_personas = _col(tables["mdp_personas"], "persona")
    applicants = np.union1d(_col(tables["sga_propuestas_aspira"], "persona"), _col(tables["sga_alumnos"], "persona"))
    personas = np.union1d(
        np.union1d(_col(out["sga_propuestas_aspira"], "persona"), _col(out["sga_alumnos"], "persona")),
        np.setdiff1d(all_personas, applicants),
    )
    for name in ("mdp_personas", "mdp_personas_documentos", "mdp_personas_contactos", "mdp_datos_estudios"):
        _filter(out, name, _isin(out[name], "persona", personas))
    _filter(out, "mdp_datos_censales", _isin(out["mdp_datos_censales"], "persona", personas))
    censales = _col(out["mdp_datos_censales"], "dato_censal")
    for name in ("mdp_datos_personales", "mdp_datos_economicos", "mdp_datos_actividades", "mdp_datos_discapacidad"):
        _filter(out, name, _isin(out[name], "dato_censal", censales))

    # Comisiones and exam calls exist once someone has used them.
    _attendance_on(out, c, known["sga_clases_asistencia_acum_quit"])
    comisiones = _col(out["sga_insc_cursada"], "comision")
    _filter(out, "sga_comisiones", _isin(out["sga_comisiones"], "comision", comisiones))
    _filter(out, "sga_evaluaciones", _isin(out["sga_evaluaciones"], "evaluacion", comisiones))
    llamados = np.union1d(_col(out["sga_insc_examen"], "llamado_mesa"), _col(out["sga_actas"], "llamado_mesa", -1))
    _filter(out, "sga_llamados_mesa", _isin(out["sga_llamados_mesa"], "llamado_mesa", llamados))
    mesa = out["sga_llamados_mesa"]
    _filter(out, "sga_mesas_examen", _isin(out["sga_mesas_examen"], "mesa_examen", _col(mesa, "mesa_examen")))
    _filter(out, "sga_llamados_turno", _isin(out["sga_llamados_turno"], "llamado", _col(mesa, "llamado")))

    # Calendar rows the full build creates ahead of `until`, created ahead of the snapshot instead.
    ahead = cfg.known_semesters + 2
    periodos = out["sga_periodos"]
    cuatrimestral = _col(periodos, "periodo") <= cfg.n_semesters + 2
    calendar = np.where(
        cuatrimestral, _col(periodos, "periodo") <= ahead, _col(periodos, "anio_academico") <= academic_year(day) + 1
    )
    _filter(out, "sga_periodos", calendar)
    _filter(
        out,
        "sga_periodos_lectivos",
        _isin(out["sga_periodos_lectivos"], "periodo", _col(out["sga_periodos"], "periodo")),
    )
    anios = out["sga_anios_academicos"]
    _filter(out, "sga_anios_academicos", _col(anios, "anio_academico") <= academic_year(day) + 1)
    return out


def _alumnos_on(alumnos: pa.Table, hist: pa.Table, world: SourceWorld, ids: dict, day: dt.date) -> pa.Table:
    """sga_alumnos state columns as of the snapshot (hist: the status history already cut there)."""
    st, cfg = world.students, world.config
    alumno = _col(alumnos, "alumno")
    stu = alumno - 1
    n = st["z"].size
    # calidad and regular: the last status record by the snapshot.
    h_alumno, h_time = _col(hist, "alumno"), _col(hist, "fecha")
    order = np.lexsort((h_time, h_alumno))
    last = np.full(n + 1, -1)
    last[h_alumno[order]] = order
    calidad = np.asarray(alumnos.column("calidad").to_pylist(), dtype=object)
    regular = np.asarray(alumnos.column("regular").to_pylist(), dtype=object)
    idx = last[alumno]
    seen = idx >= 0
    h_calidad = np.asarray(hist.column("calidad").to_pylist(), dtype=object)
    h_motivo = _col(hist, "motivo_calidad")
    calidad[seen] = h_calidad[idx[seen]]
    regular[seen] = np.where(h_motivo[idx[seen]] == catalogs.MOTIVOS_CALIDAD["perdida"], "N", "S")
    anio_cursada = np.clip((cfg.known_semesters - 1 - st["entry_sem"][stu]) // 2 + 1, 1, 5)
    r = world.readmits
    readmitted = np.bincount(r["stu"][r["time"] < end_of_day(day)], minlength=n)[stu]
    propuestas = catalogs.FACULTADES[world.index]["propuestas"]
    provisional = (st["cohort"][stu] == academic_year(day)) & ids["provisional_draw"][stu]
    legajo = np.array([f"{propuestas[p][2]}-{a:06d}" for p, a in zip(st["propuesta"][stu], alumno)], dtype=object)
    alumnos = _replace(alumnos, "calidad", pa.array(calidad, pa.string()))
    alumnos = _replace(alumnos, "regular", pa.array(regular, pa.string()))
    alumnos = _replace(alumnos, "anio_cursada", pa.array(anio_cursada))
    alumnos = _replace(alumnos, "cnt_readmisiones", pa.array(readmitted))
    return _replace(alumnos, "legajo", pa.array(legajo, pa.string(), mask=provisional))


def _census_before_updates(out: dict[str, pa.Table], update: dict, c: int) -> None:
    """Rows updated in place after day c go back to the answers and date they had before."""
    later = update["day"] > c
    if not later.any():
        return
    positions = pa.array(np.isin(np.arange(out["mdp_datos_censales"].num_rows), update["rows"][later]))
    for name, original in (("mdp_datos_censales", update["censales"]), ("mdp_datos_economicos", update["economicos"])):
        current = out[name]
        columns = [pc.if_else(positions, original[col], current[col]) for col in current.column_names]
        out[name] = pa.Table.from_arrays(columns, schema=current.schema)


def _attendance_on(out: dict[str, pa.Table], c: int, quit_classes: np.ndarray) -> None:
    """Accumulated attendance of kept inscriptions whose classes have begun, counting the classes held."""
    acum = out["sga_clases_asistencia_acum"]
    insc = out["sga_insc_cursada"]
    pair = _col(acum, "comision") * 10_000_000 + _col(acum, "alumno")
    enrolled = np.isin(pair, _col(insc, "comision") * 10_000_000 + _col(insc, "alumno"))
    com = out["sga_comisiones"]
    lectivo_of = np.zeros(int(_col(com, "comision").max(initial=0)) + 1, dtype=np.int64)
    lectivo_of[_col(com, "comision")] = _col(com, "periodo_lectivo")
    pl = out["sga_periodos_lectivos"]
    first_of = np.zeros(int(_col(pl, "periodo_lectivo").max(initial=0)) + 1, dtype=np.int64)
    last_of = first_of.copy()
    first_of[_col(pl, "periodo_lectivo")] = _col(pl, "fecha_inicio_dictado")
    last_of[_col(pl, "periodo_lectivo")] = _col(pl, "fecha_fin_dictado")
    lectivo = lectivo_of[_col(acum, "comision")]
    first, last = first_of[lectivo], last_of[lectivo]
    present_full = _col(acum, "total_asistencias")
    total = present_full + _col(acum, "total_inasistencias")  # 28 classes a cuatrimestre, 56 a year
    # Classes evenly spread from the first to the last day of classes; held = those on or before c.
    k = np.arange(int(total.max(initial=CLASSES_PER_CURSADA)))
    class_day = shapes.class_days(first, last, total)
    held = ((class_day <= c) & (k[None, :] < total[:, None])).sum(axis=1)
    keep = enrolled & (held > 0)
    partial = held < total
    present = np.where(partial, np.rint(present_full * held / total), present_full).astype(np.int64)
    # Who left an annual course attended as before until then and not after.
    left = partial & (quit_classes > 0)
    quit_share = np.minimum(held, quit_classes) / np.maximum(quit_classes, 1)
    present = np.where(left, np.rint(present_full * quit_share), present).astype(np.int64)
    absent = held - present
    libre_now = np.where(partial, absent > total - 0.6 * total, present_full < 0.6 * total)
    pct = np.round(100.0 * present / np.maximum(held, 1), 2)
    acum = _replace(acum, "total_asistencias", pa.array(present))
    acum = _replace(acum, "total_inasistencias", pa.array(absent))
    acum = _replace(acum, "porc_asistencia", pc.if_else(pa.array(partial), pa.array(pct), acum["porc_asistencia"]))
    acum = _replace(acum, "libre", pa.array(np.where(libre_now, "S", "N").astype(object), pa.string()))
    acum = _replace(acum, "tramo_quedo_libre", pa.array(np.ones(acum.num_rows, np.int64), mask=~libre_now))
    out["sga_clases_asistencia_acum"] = acum.filter(pa.array(keep, pa.bool_()))


def snapshot_moodle(tables: dict[str, pa.Table], day: dt.date) -> dict[str, pa.Table]:
    """The Moodle site (built for `until`) as it stood at the end of `day`."""
    end = end_of_day(day)
    out = dict(tables)
    _filter(out, "mdl_user", _col(out["mdl_user"], "timecreated") < end)
    users = _col(out["mdl_user"], "id")
    course = out["mdl_course"]
    _filter(out, "mdl_course", (_col(course, "id") == 1) | (_col(course, "timecreated") < end))
    courses = _col(out["mdl_course"], "id")
    _filter(out, "mdl_enrol", _isin(out["mdl_enrol"], "courseid", courses))
    ue = out["mdl_user_enrolments"]
    _filter(
        out,
        "mdl_user_enrolments",
        (_col(ue, "timecreated") < end)
        & _isin(ue, "enrolid", _col(out["mdl_enrol"], "id"))
        & _isin(ue, "userid", users),
    )
    ctx = out["mdl_context"]
    _filter(out, "mdl_context", (_col(ctx, "contextlevel") != 50) | _isin(ctx, "instanceid", courses))
    ra = out["mdl_role_assignments"]
    _filter(
        out,
        "mdl_role_assignments",
        (_col(ra, "timemodified") < end)
        & _isin(ra, "contextid", _col(out["mdl_context"], "id"))
        & _isin(ra, "userid", users),
    )
    cm = out["mdl_course_modules"]
    _filter(out, "mdl_course_modules", (_col(cm, "added") < end) & _isin(cm, "course", courses))
    log = out["mdl_logstore_standard_log"]
    _filter(
        out,
        "mdl_logstore_standard_log",
        (_col(log, "timecreated") < end) & _isin(log, "courseid", courses) & _isin(log, "userid", users),
    )
    _filter(out, "mdl_attendance", _isin(out["mdl_attendance"], "course", courses))
    attendances = _col(out["mdl_attendance"], "id")
    statuses = out["mdl_attendance_statuses"]
    _filter(
        out,
        "mdl_attendance_statuses",
        (_col(statuses, "attendanceid") == 0) | _isin(statuses, "attendanceid", attendances),
    )
    # A session exists in the snapshot once it has been taken.
    sess = out["mdl_attendance_sessions"]
    _filter(
        out,
        "mdl_attendance_sessions",
        (_col(sess, "lasttaken") < end) & _isin(sess, "attendanceid", attendances),
    )
    alog = out["mdl_attendance_log"]
    _filter(
        out,
        "mdl_attendance_log",
        (_col(alog, "timetaken") < end)
        & _isin(alog, "sessionid", _col(out["mdl_attendance_sessions"], "id"))
        & _isin(alog, "studentid", users),
    )
    return out


def snapshot_truth(truth: dict[str, pa.Table], tables: dict[str, pa.Table], day: dt.date) -> dict[str, pa.Table]:
    """The shapes' ground truth as known at the end of `day`, for the rows the snapshot kept."""
    c = day_number(day)
    out = {}
    kept = {
        "cursada_truth": ("inscripcion", "sga_insc_cursada", "inscripcion"),
        "acta_truth": ("id_acta", "sga_actas", "id_acta"),
        "career_truth": ("alumno", "sga_alumnos", "alumno"),
        "readmission_truth": ("propuesta_aspira", "sga_propuestas_aspira", "propuesta_aspira"),
        "census_truth": ("dato_censal", "mdp_datos_censales", "dato_censal"),
        "graduation_truth": ("alumno", "sga_alumnos", "alumno"),
    }
    for name, t in truth.items():
        column, source, source_column = kept[name]
        t = t.filter(pa.array(_isin(t, column, _col(tables[source], source_column))))
        for date_column in ("fecha_registro", "fecha_baja", "fecha_certificado"):
            if date_column in t.column_names:
                later = pa.array(_col(t, date_column, -1) > c)
                t = _replace(t, date_column, pc.if_else(later, pa.nulls(t.num_rows, pa.date32()), t[date_column]))
        if name == "census_truth":
            t = t.filter(pa.array(_col(t, "vigente_desde") <= c))
        if name == "graduation_truth":
            t = t.filter(pa.array(_col(t, "fecha_ultimo_examen") <= c))
        out[name] = t
    return out
