-- target:   silver.dim_student
-- grain:    source_db, alumno
-- upstream: bronze.students, bronze.course_inscriptions, silver.dim_persona, silver.dim_ubicacion
-- test:     unique(alumno_key)
-- test:     relationship(persona_key -> silver.dim_persona(persona_key))
-- test:     relationship(propuesta_key -> silver.dim_propuesta(propuesta_key))
-- test:     relationship(ubicacion_key -> silver.dim_ubicacion(ubicacion_key))
-- test:     relationship(facultad_key -> silver.dim_facultad(facultad_key))
-- test:     not_null(anio_ingreso)
-- test:     accepted_values(calidad_actual: 'A', 'P') warn
-- One row per alumno. Cohort (anio_ingreso) = the academic year of entry: the admitted aspirant record's
-- anio_academico; else the academic year of the student's first course; else the year of the entry date
-- plus three months (applications from October to February are for the next March).
-- Ages and seniority are completed years (at entry; at the as-of date). calidad_actual and
-- es_regular_actual describe the student *today* and must never be used as features of the past.
CREATE OR REPLACE TABLE silver.dim_student AS
WITH first_course AS (
    SELECT source_db, alumno, min(CAST(fecha_inscripcion AS DATE)) AS primera_inscripcion,
           min(anio_academico) AS primer_anio_cursada
    FROM bronze.course_inscriptions GROUP BY source_db, alumno
),
base AS (
    SELECT s.*, fc.primera_inscripcion,
           COALESCE(s.fecha_ingreso, fc.primera_inscripcion)                                  AS fecha_ingreso_efectiva,
           CAST(COALESCE(s.anio_ingreso, fc.primer_anio_cursada,
                         year(s.fecha_ingreso + INTERVAL 3 MONTH)) AS INTEGER)               AS cohorte
    FROM bronze.students s
    LEFT JOIN first_course fc ON fc.source_db = s.source_db AND fc.alumno = s.alumno
)
SELECT silver.pseudonym(b.source_db, b.alumno)                     AS alumno_key,
       b.source_db,
       b.alumno,
       silver.pseudonym(b.source_db, b.persona)                    AS persona_key,
       silver.surrogate(b.source_db, b.propuesta)                  AS propuesta_key,
       silver.surrogate(b.source_db, b.plan_version_id)            AS plan_version_key,
       silver.surrogate(b.source_db, b.ubicacion)                  AS ubicacion_key,
       u.facultad_key,
       b.propuesta_nombre,
       b.plan_version                                              AS plan_version_nombre,
       u.facultad_nombre,
       u.sede_nombre,
       u.tipo_sede,
       b.modalidad,
       b.tipo_ingreso,
       b.aspirante_resultado,
       b.fecha_ingreso_efectiva                                    AS fecha_ingreso,
       b.cohorte                                                   AS anio_ingreso,
       silver.anios_cumplidos(p.fecha_nacimiento,
                              COALESCE(b.fecha_ingreso_efectiva, make_date(b.cohorte, 3, 1))) AS edad_ingreso,
       silver.anios_cumplidos(COALESCE(b.fecha_ingreso_efectiva, make_date(b.cohorte, 3, 1)),
                              getvariable('as_of'))                AS antiguedad_anios,
       b.tiene_legajo,
       b.cnt_readmisiones,
       b.calidad                                                   AS calidad_actual,
       b.regular = 'S'                                             AS es_regular_actual
FROM base b
LEFT JOIN silver.dim_persona p ON p.source_db = b.source_db AND p.persona = b.persona
LEFT JOIN silver.dim_ubicacion u ON u.source_db = b.source_db AND u.ubicacion = b.ubicacion;
