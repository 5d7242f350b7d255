"""The default (realistic) synthetic university has the shapes real Guaraní data has, each with its ground
truth in dwh_synthetic; the simple profile is byte for byte the generator's output before the shapes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pg_util import query, scalar, table_checksums

from dwh.synthetic.__main__ import _parser, shapes_from_args
from dwh.synthetic.profile import PROFILES, REALISTIC_VARIANTS, Shapes

GOLDEN = Path(__file__).parent / "data" / "synthetic_simple_checksums.json"
# The configuration the golden checksums were taken with (by the generator before the shapes existed).
GOLDEN_CONFIG = dict(students=300, sources=3, years=3, seed=11, until=dt.date(2025, 11, 27))
GOLDEN_SNAPSHOT = dt.date(2025, 6, 15)
LOCAL = "AT TIME ZONE 'America/Argentina/Buenos_Aires'"


@pytest.fixture(scope="module")
def uni(make_synthetic) -> dict[str, str]:
    """The default profile: two Guaraní sources (a migrated, b the variant deployment) and Moodle."""
    return make_synthetic(students=1200, sources=2, years=6, seed=5)


def _checksums(urls: dict[str, str], label: str) -> dict[str, dict[str, str]]:
    out = {}
    for name, url in urls.items():
        for schema in ("negocio", "dwh_synthetic") if name != "moodle" else ("public",):
            sums = table_checksums(url, schema)
            if schema == "negocio":
                for view in ("vw_hist_academica", "vw_hist_academica_basica"):
                    sums[view] = scalar(
                        url, f"SELECT md5(string_agg(v::text, '|' ORDER BY v::text)) FROM negocio.{view} v"
                    )
            out[f"{label}/{name}/{schema}"] = sums
    return out


def test_the_simple_profile_is_the_generator_before_the_shapes(make_synthetic):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    simple = PROFILES["simple"]
    now = _checksums(make_synthetic(**GOLDEN_CONFIG, shapes=simple), "full")
    now |= _checksums(make_synthetic(**GOLDEN_CONFIG, shapes=simple, snapshot=GOLDEN_SNAPSHOT), "snapshot")
    assert set(now) == set(golden)
    differ = [(db, t) for db in golden for t in golden[db] if golden[db][t] != now[db].get(t)]
    assert not differ, differ[:10]
    assert all(set(golden[db]) == set(now[db]) for db in golden)


def test_profiles_and_shapes_from_the_command_line():
    assert shapes_from_args(_parser().parse_args([])) == Shapes()
    assert shapes_from_args(_parser().parse_args(["--profile", "simple"])) == PROFILES["simple"]
    some = shapes_from_args(_parser().parse_args(["--without", "late_actas,annual_courses"]))
    assert not some.late_actas and not some.annual_courses and some.second_careers
    with pytest.raises(ValueError, match="unknown shape"):
        shapes_from_args(_parser().parse_args(["--without", "nope"]))


def test_annual_courses_run_march_to_november(uni):
    for url in (uni["guarani_a"], uni["guarani_b"]):
        annual = query(
            url,
            "SELECT pl.fecha_inicio_dictado, pl.fecha_fin_dictado, pg.nombre, count(DISTINCT c.comision) "
            "FROM negocio.sga_comisiones c JOIN negocio.sga_periodos_lectivos pl USING (periodo_lectivo) "
            "JOIN negocio.sga_periodos p USING (periodo) "
            "JOIN negocio.sga_periodos_genericos pg USING (periodo_generico) "
            "WHERE pg.nombre = 'Anual' GROUP BY 1, 2, 3",
        )
        assert len(annual) >= 4 and all(s.month == 3 and e.month == 11 for s, e, _n, _k in annual)
        # Attendance over the year's 56 classes; results recorded through November.
        totals = {
            r[0]
            for r in query(
                url,
                "SELECT a.total_asistencias + a.total_inasistencias FROM negocio.sga_clases_asistencia_acum a "
                "JOIN negocio.sga_comisiones c USING (comision) JOIN negocio.sga_periodos_lectivos pl USING "
                "(periodo_lectivo) WHERE pl.fecha_fin_dictado - pl.fecha_inicio_dictado > 200",
            )
        }
        assert totals == {56}
        months = {
            r[0]
            for r in query(
                url,
                "SELECT extract(month FROM e.fecha_regular)::int FROM negocio.sga_eval_detalle_cursadas e "
                "JOIN negocio.sga_comisiones c ON c.comision = e.evaluacion JOIN negocio.sga_periodos_lectivos pl "
                "USING (periodo_lectivo) WHERE pl.fecha_fin_dictado - pl.fecha_inicio_dictado > 200",
            )
        }
        assert months == {11}
        # Ground truth: the annual inscriptions, some left in the second cuatrimestre (absent, low attendance).
        truth = query(
            url,
            "SELECT count(*) FILTER (WHERE t.anual), count(*) FILTER (WHERE t.abandono_anual), "
            "count(*) FILTER (WHERE t.anual <> (pl.fecha_fin_dictado - pl.fecha_inicio_dictado > 200)) "
            "FROM dwh_synthetic.cursada_truth t JOIN negocio.sga_insc_cursada i USING (inscripcion) "
            "JOIN negocio.sga_comisiones c ON c.comision = i.comision "
            "JOIN negocio.sga_periodos_lectivos pl USING (periodo_lectivo)",
        )[0]
        assert truth[0] > 100 and truth[1] > 0 and truth[2] == 0
        quits = query(
            url,
            "SELECT e.resultado_cursada FROM dwh_synthetic.cursada_truth t JOIN negocio.sga_insc_cursada i "
            "USING (inscripcion) JOIN negocio.sga_eval_detalle_cursadas e ON e.evaluacion = i.comision "
            "AND e.alumno = i.alumno WHERE t.abandono_anual",
        )
        assert quits and {r[0] for r in quits} == {"U"}


def test_actas_are_closed_days_to_weeks_after_the_exam(uni):
    for url in (uni["guarani_a"], uni["guarani_b"]):
        lags = query(
            url,
            f"SELECT t.origen, min(t.fecha_registro - t.fecha_examen), max(t.fecha_registro - t.fecha_examen), "
            f"count(*) FILTER (WHERE (a.fecha_generacion {LOCAL})::date <> t.fecha_registro) "
            "FROM dwh_synthetic.acta_truth t JOIN negocio.sga_actas a USING (id_acta) GROUP BY 1",
        )
        assert {r[0] for r in lags} == {"R", "P", "E"}
        assert all(lo >= 2 and hi >= 30 and mismatched == 0 for _o, lo, hi, mismatched in lags)
        # The exam date itself is what the acta's rows and the history view carry.
        exam = (
            scalar(
                url,
                f"SELECT count(*) FROM negocio.sga_actas_detalle d JOIN dwh_synthetic.acta_truth t USING (id_acta) "
                f"WHERE (d.fecha {LOCAL})::date <> t.fecha_examen",
            )
            if url == uni["guarani_b"]
            else scalar(
                url,
                "SELECT count(*) FROM negocio.sga_actas_detalle d JOIN dwh_synthetic.acta_truth t USING (id_acta) "
                "WHERE d.fecha <> t.fecha_examen",
            )
        )
        assert exam == 0
        # Nothing is recorded after the day the sources are read, though exams were held.
        assert str(scalar(url, "SELECT max(fecha_registro) FROM dwh_synthetic.acta_truth")) <= "2025-11-27"


def test_a_second_career_is_a_second_alumno_of_the_same_person_with_one_moodle_account(uni):
    pairs = query(
        uni["guarani_b"],
        "SELECT t.alumno, t.primera_carrera_alumno, a2.persona, a1.persona, a2.propuesta, a1.propuesta, "
        "t.anio_ingreso - t.anio_ingreso_primera, p.usuario FROM dwh_synthetic.career_truth t "
        "JOIN negocio.sga_alumnos a2 ON a2.alumno = t.alumno JOIN negocio.sga_alumnos a1 ON "
        "a1.alumno = t.primera_carrera_alumno JOIN negocio.mdp_personas p ON p.persona = a2.persona",
    )
    assert len(pairs) >= 5
    assert all(p2 == p1 and prop2 != prop1 and 2 <= gap <= 5 for _a, _f, p2, p1, prop2, prop1, gap, _u in pairs)
    logins = [r[7] for r in pairs if r[7]]
    accounts = query(
        uni["moodle"], "SELECT username, count(*) FROM mdl_user WHERE username = ANY(:u) GROUP BY 1", u=logins
    )
    assert accounts and all(n == 1 for _u, n in accounts)
    # The person's account follows courses of both careers.
    codes = {r[0] for r in query(uni["guarani_b"], "SELECT codigo FROM negocio.sga_propuestas")}
    both = query(
        uni["moodle"],
        "SELECT u.username, count(DISTINCT split_part(c.shortname, '-', 1)) FROM mdl_user u "
        "JOIN mdl_user_enrolments ue ON ue.userid = u.id JOIN mdl_enrol e ON e.id = ue.enrolid "
        "JOIN mdl_course c ON c.id = e.courseid WHERE u.username = ANY(:u) GROUP BY 1",
        u=logins,
    )
    assert codes and any(n >= 2 for _u, n in both)


def test_certificates_are_issued_months_after_the_last_exam(uni):
    url = uni["guarani_b"]
    rows = query(
        url,
        "SELECT t.fecha_certificado - t.fecha_ultimo_examen, c.fecha_egreso = t.fecha_ultimo_examen "
        "FROM dwh_synthetic.graduation_truth t LEFT JOIN negocio.sga_certificados_otorg c USING (alumno)",
    )
    issued = [r for r in rows if r[0] is not None]
    assert issued and all(60 <= lag <= 240 and same for lag, same in issued)
    # The egreso status comes with the certificate, not with the exam.
    status = scalar(
        url,
        f"SELECT count(*) FROM dwh_synthetic.graduation_truth t JOIN negocio.sga_alumnos_hist_calidad h "
        f"USING (alumno) WHERE h.motivo_calidad = 4 AND (h.fecha {LOCAL})::date <> t.fecha_certificado",
    )
    assert status == 0


def test_readmission_after_a_loss_of_regularity_is_a_new_aspirant_record(uni):
    url = uni["guarani_a"]
    rows = query(
        url,
        "SELECT pa.situacion_asp, pa.persona = a.persona AND pa.propuesta = a.propuesta, "
        "EXISTS (SELECT 1 FROM negocio.sga_perdida_regularidad p WHERE p.alumno = t.alumno "
        "AND p.fecha < t.fecha_readmision), a.cnt_readmisiones, "
        "(SELECT count(*) FROM negocio.sga_propuestas_aspira x WHERE x.persona = a.persona "
        "AND x.propuesta = a.propuesta AND x.situacion_asp IN (1, 2)) "
        "FROM dwh_synthetic.readmission_truth t JOIN negocio.sga_propuestas_aspira pa USING (propuesta_aspira) "
        "JOIN negocio.sga_alumnos a ON a.alumno = t.alumno",
    )
    assert len(rows) >= 5
    assert all(
        sit == 2 and same and lost and readmitted >= 1 and admitted >= 2
        for sit, same, lost, readmitted, admitted in rows
    )


def test_inscriptions_are_cancelled_after_their_period_ended(uni):
    for url in (uni["guarani_a"], uni["guarani_b"]):
        rows = query(
            url,
            "SELECT i.estado, t.fecha_baja - t.fin_cursada FROM dwh_synthetic.cursada_truth t "
            "JOIN negocio.sga_insc_cursada i USING (inscripcion) WHERE t.fecha_baja IS NOT NULL OR i.estado = 'B'",
        )
        assert len(rows) > 20 and all(estado == "B" and lag >= 15 for estado, lag in rows)


def test_a_census_is_updated_in_place_years_later(uni):
    url = uni["guarani_a"]
    rows = query(
        url,
        "SELECT c.fecha_actualizacion - c.fecha_relevamiento, t1.trabajo_existe, t2.trabajo_existe, "
        "e.trabajo_existe, t2.vigente_desde = c.fecha_actualizacion, e.trabajo_hora_sem = t2.trabajo_hora_sem "
        "FROM negocio.mdp_datos_censales c JOIN negocio.mdp_datos_economicos e USING (dato_censal) "
        "JOIN dwh_synthetic.census_truth t1 ON t1.dato_censal = c.dato_censal AND t1.version = 1 "
        "JOIN dwh_synthetic.census_truth t2 ON t2.dato_censal = c.dato_censal AND t2.version = 2",
    )
    assert len(rows) >= 10
    assert all(
        days >= 365 and old == 2 and new == now == 1 and since and hours for days, old, new, now, since, hours in rows
    )


def test_one_source_was_migrated_with_older_cohorts_than_its_records(uni):
    url = uni["guarani_a"]
    keys = dict(query(url, "SELECT key, value FROM dwh_synthetic.generation"))
    assert keys["cohorts_from"] == "2012" and keys["detail_from"] == "2018-03-01"
    assert scalar(url, "SELECT min(anio_academico) FROM negocio.sga_propuestas_aspira WHERE situacion_asp = 2") == 2012
    first_course = scalar(url, f"SELECT min((fecha_inscripcion {LOCAL})::date) FROM negocio.sga_insc_cursada")
    first_exam = scalar(url, "SELECT min(fecha) FROM negocio.sga_llamados_mesa")
    assert first_course >= dt.date(2018, 2, 1) and first_exam >= dt.date(2018, 3, 1)
    # Students who left before the migration exist with no course or exam record at all.
    silent = scalar(
        url,
        "SELECT count(*) FROM dwh_synthetic.student_truth s WHERE s.dropout_semester_start < DATE '2018-03-01' "
        "AND NOT EXISTS (SELECT 1 FROM negocio.sga_insc_cursada i WHERE i.alumno = s.alumno)",
    )
    assert silent > 10
    assert scalar(uni["guarani_b"], "SELECT min(cohort) FROM dwh_synthetic.student_truth") == 2020


def test_the_variant_source_holds_every_documented_date_variant(uni):
    types = {
        (t, c): d
        for t, c, d in query(
            uni["guarani_b"],
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'negocio'",
        )
    }
    expected = {"timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone"}
    for column, kind in REALISTIC_VARIANTS.items():
        assert types[column] == expected[kind], column
    documented = {
        (t, c): d
        for t, c, d in query(
            uni["guarani_a"],
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'negocio'",
        )
    }
    assert documented[("sga_actas_detalle", "fecha")] == documented[("sga_llamados_mesa", "fecha")] == "date"
    assert documented[("sga_insc_cursada", "fecha_inscripcion")] == "timestamp with time zone"
    assert types[("vw_hist_academica", "fecha")] == "timestamp with time zone"
    keys = dict(query(uni["guarani_b"], "SELECT key, value FROM dwh_synthetic.generation"))
    assert "sga_actas_detalle.fecha=timestamptz" in keys["column_variants"]


def test_switching_a_shape_off_leaves_the_other_shapes_draws_alone(uni, make_synthetic):
    """Without second careers (a shape that does not change the simulated history), every other shape draws
    the same: the same bajas, acta closing days, certificates and census updates."""
    other = make_synthetic(students=1200, sources=2, years=6, seed=5, shapes=Shapes().without(["second_careers"]))
    for source in ("guarani_a", "guarani_b"):
        for sql in (
            "SELECT inscripcion, fecha_baja, fecha_registro, abandono_anual FROM dwh_synthetic.cursada_truth",
            "SELECT id_acta, fecha_registro FROM dwh_synthetic.acta_truth",
            "SELECT alumno, fecha_certificado FROM dwh_synthetic.graduation_truth",
            "SELECT dato_censal, version, vigente_desde, trabajo_hora_sem FROM dwh_synthetic.census_truth",
        ):
            assert sorted(query(uni[source], sql)) == sorted(query(other[source], sql)), (source, sql)
    assert query(
        other["guarani_b"], "SELECT count(*) FROM information_schema.tables WHERE table_name = 'career_truth'"
    ) == [(0,)]
