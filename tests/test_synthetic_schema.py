"""The synthetic sources have exactly the documented Guaraní and Moodle tables, columns and types."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from pg_util import query

from dwh.synthetic import ddl
from dwh.synthetic.profile import Shapes

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "source_schemas.md"
TOOL = Path(__file__).resolve().parents[1] / "tools" / "spec_to_schema.py"

# Columns the bronze extraction reads (warehouse_spec.md §2, plus the Moodle resources of issue 3).
BRONZE_NEEDS = {
    "sga_alumnos": [
        "alumno",
        "persona",
        "propuesta",
        "plan_version",
        "ubicacion",
        "modalidad",
        "regular",
        "calidad",
        "legajo",
    ],
    "sga_propuestas_aspira": ["persona", "propuesta", "situacion_asp", "fecha_inscripcion", "tipo_ingreso"],
    "sga_situacion_aspirante": ["situacion_asp", "resultado_asp"],
    "sga_propuestas": ["propuesta", "nombre", "codigo"],
    "sga_planes_versiones": ["plan_version", "nombre"],
    "sga_ubicaciones": ["ubicacion", "nombre", "calle", "numero", "codigo_postal", "institucion_araucano", "localidad"],
    "int_arau_instituciones": ["institucion_araucano", "nombre", "institucion_nombre"],
    "mug_localidades": ["localidad", "nombre", "dpto_partido"],
    "mug_dptos_partidos": ["dpto_partido", "nombre", "provincia"],
    "mug_provincias": ["provincia", "nombre"],
    "mdp_personas": ["persona", "fecha_nacimiento", "sexo", "localidad_nacimiento", "nacionalidad", "usuario"],
    "mdp_nacionalidades": ["nacionalidad", "descripcion"],
    "sga_elementos": ["elemento", "codigo", "nombre"],
    "sga_instancias": ["instancia", "nombre"],
    "sga_insc_cursada": ["inscripcion", "alumno", "comision", "plan_version", "estado", "fecha_inscripcion"],
    "sga_comisiones": ["comision", "periodo_lectivo", "elemento"],
    "sga_periodos_lectivos": ["periodo_lectivo", "periodo"],
    "sga_periodos": ["periodo", "anio_academico", "nombre"],
    "sga_evaluaciones": ["evaluacion", "entidad"],
    "sga_eval_detalle_cursadas": ["evaluacion", "alumno", "nota_cursada", "resultado_cursada", "fecha_regular"],
    "sga_clases_asistencia_acum": ["comision", "alumno", "porc_asistencia", "total_inasistencias"],
    "mdp_datos_censales": ["dato_censal", "persona", "fecha_relevamiento"],
    "mdp_datos_personales": [
        "dato_censal",
        "estado_civil",
        "unido_hecho",
        "situacion_padre",
        "situacion_madre",
        "cobertura_salud",
        "cantidad_hijos",
        "tipo_vivienda",
        "vive_con",
        "periodo_lectivo_localidad",
        "procedencia_localidad",
    ],
    "mdp_datos_economicos": [
        "dato_censal",
        "trabajo_existe",
        "trabajo_hora_sem",
        "beca",
        "costeo_estudios_familiar",
        "costeo_estudios_trabajo",
    ],
    "mdp_datos_actividades": ["dato_censal", "tecnologia_int_casa", "tecnologia_pc_casa", "deportes"],
    "mdp_datos_discapacidad": ["dato_censal", "disc_auditiva", "disc_visual", "disc_motora", "disc_otra"],
    "mdp_datos_estudios": ["persona", "nivel_estudio", "institucion", "colegio"],
    "sga_perdida_regularidad": [
        "perdida_regularidad",
        "alumno",
        "anio_academico",
        "fecha",
        "fecha_control_desde",
        "fecha_control_hasta",
    ],
    "sga_alumnos_hist_calidad": ["alumno", "fecha", "calidad", "motivo_calidad"],
    "vw_hist_academica": [
        "alumno",
        "elemento",
        "anio_academico",
        "periodo_lectivo",
        "plan_version",
        "instancia",
        "nota",
        "nota_descripcion",
        "resultado",
        "resultado_descripcion",
        "fecha",
        "tipo",
        "origen",
        "pct_asistencia",
        "creditos",
        "persona",
        "elemento_revision",
        "id_acta",
        "folio",
        "renglon",
        "evaluacion",
        "comision",
        "actividad_codigo",
    ],
    "vw_hist_academica_basica": ["alumno", "elemento", "anio_academico", "fecha", "nota", "resultado"],
    "sga_insc_examen": ["inscripcion", "alumno", "llamado_mesa", "instancia", "plan_version"],
    "sga_llamados_mesa": ["llamado_mesa", "mesa_examen", "fecha"],
    "sga_mesas_examen": ["mesa_examen", "elemento"],
    "sga_reinscripciones": ["alumno", "anio_academico", "fecha_reinscripcion", "nro_transaccion"],
    "sga_certificados_otorg": ["alumno", "plan_version", "fecha_egreso", "anulado"],
}
MOODLE_NEEDS = {
    "mdl_user": ["id", "username", "idnumber", "deleted", "suspended"],
    "mdl_course": ["id", "shortname", "idnumber", "startdate"],
    "mdl_enrol": ["id", "courseid"],
    "mdl_user_enrolments": ["enrolid", "userid", "status", "timestart"],
    "mdl_logstore_standard_log": ["userid", "courseid", "action", "timecreated"],
    "mdl_attendance": ["id", "course"],
    "mdl_attendance_sessions": ["id", "attendanceid", "sessdate"],
    "mdl_attendance_statuses": ["id", "acronym"],
    "mdl_attendance_log": ["sessionid", "studentid", "statusid"],
}


def _pg_type(data_type: str, char_len, num_prec, num_scale) -> str:
    """information_schema's description turned back into the documentation's spelling."""
    simple = {
        "integer": "integer",
        "smallint": "smallint",
        "bigint": "bigint",
        "date": "date",
        "text": "text",
        "uuid": "uuid",
        "timestamp with time zone": "timestamptz",
        "timestamp without time zone": "timestamp",
        "time without time zone": "time",
        "double precision": "double precision",
    }
    if data_type in simple:
        return simple[data_type]
    if data_type == "character varying":
        return f"varchar({char_len})"
    if data_type == "character":
        return f"char({char_len})"
    if data_type == "numeric":
        return f"numeric({num_prec},{num_scale})"
    raise AssertionError(f"unexpected type {data_type}")


def _columns(url: str, schema: str) -> dict[tuple[str, str], tuple[str, bool]]:
    rows = query(
        url,
        """
        SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale,
               is_nullable
        FROM information_schema.columns WHERE table_schema = :s""",
        s=schema,
    )
    return {(t, c): (_pg_type(d, cl, p, s), n == "YES") for t, c, d, cl, p, s, n in rows}


def _documented(spec: dict, variant: bool) -> dict[tuple[str, str], tuple[str, bool]]:
    """The documented columns; in the variant deployment, the date columns that some deployment holds as
    TIMESTAMPTZ (or TIMESTAMP), and the views over them, have that type."""
    variants = Shapes().column_variants() if variant else {}
    views = {("vw_hist_academica", "fecha"), ("vw_hist_academica_basica", "fecha")}
    out = {}
    for table, facts in spec.items():
        for name, typ, nullable, _default in facts["columns"]:
            typ = variants.get((table, name), typ)
            if variant and (table, name) in views:
                typ = "timestamptz"
            # Views report every column as nullable; the documented DDL says the same.
            out[(table, name)] = (typ, nullable)
    return out


@pytest.mark.parametrize("source,tstz", [("guarani_a", False), ("guarani_b", True)])
def test_guarani_tables_columns_and_types_match_the_documentation(synthetic_small, source, tstz):
    documented = _documented({**ddl.schema_facts("guarani"), **ddl.schema_facts("guarani_extra")}, tstz)
    actual = _columns(synthetic_small[source], "negocio")
    assert set(actual) == set(documented), (
        f"missing {sorted(set(documented) - set(actual))[:10]}, extra {sorted(set(actual) - set(documented))[:10]}"
    )
    wrong = {k: (actual[k], documented[k]) for k in documented if actual[k][0] != documented[k][0]}
    assert not wrong, f"types differ from source_schemas.md: {wrong}"
    tables = {t for (t, _c) in actual}
    assert len(tables) == 63 + 2  # 61 documented tables + 2 views + the certificates pair


def test_every_column_the_bronze_queries_need_exists(synthetic_small):
    for source in ("guarani_a", "guarani_b"):
        actual = _columns(synthetic_small[source], "negocio")
        missing = [(t, c) for t, cols in BRONZE_NEEDS.items() for c in cols if (t, c) not in actual]
        assert not missing, f"{source}: {missing}"
    moodle = _columns(synthetic_small["moodle"], "public")
    missing = [(t, c) for t, cols in MOODLE_NEEDS.items() for c in cols if (t, c) not in moodle]
    assert not missing


def test_moodle_tables_match_the_documentation(synthetic_small):
    documented = {(t, c[0]): c[1] for t, f in ddl.schema_facts("moodle").items() for c in f["columns"]}
    actual = _columns(synthetic_small["moodle"], "public")
    assert {k: v[0] for k, v in actual.items()} == documented


def test_documented_keys_and_indexes_exist(synthetic_small):
    url = synthetic_small["guarani_a"]
    constraints = {
        r[0]
        for r in query(
            url,
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE nspname = 'negocio'",
        )
    }
    indexes = {r[0] for r in query(url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'negocio'")}
    for table, facts in ddl.guarani_tables().items():
        for name, definition in facts["constraints"]:
            assert name in (indexes if "INDEX" in definition else constraints), f"{table}: {name}"
    assert "id_sga_llamados_mesa_fecha" in indexes
    moodle = {
        r[0] for r in query(synthetic_small["moodle"], "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    }
    assert {"mdl_user_id_pk", "mdl_logsstanlog_couanotim_ix", "mdl_user_mneuse_uix"} <= moodle


@pytest.mark.skipif(not SPEC.exists(), reason=f"the specification is not checked out beside the repo ({SPEC})")
def test_schema_json_is_a_faithful_transcription_of_source_schemas_md():
    spec = importlib.util.spec_from_file_location("spec_to_schema", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    lines = SPEC.read_text(encoding="utf-8").splitlines()
    assert tool.parse_guarani(lines) == ddl.schema_facts("guarani")
    assert tool.parse_moodle(lines) == ddl.schema_facts("moodle")
    # The validation paragraph of the document states the totals.
    assert re.search(r"61 tables \+ 2 views", SPEC.read_text(encoding="utf-8"))
    assert sum(len(t["columns"]) for t in ddl.schema_facts("guarani").values()) == 454
    assert sum(len(t["columns"]) for t in ddl.schema_facts("moodle").values()) == 350
