-- target:   gold.mart_student_engagement
-- grain:    alumno_key, anio_academico
-- upstream: gold.mart_student_academic_summary, silver.fact_attendance, silver.fact_reinscription,
--           silver.fact_exam_inscription, silver.fact_course_enrollment, silver.fact_lms_activity
-- test:     not_null(source_db, actividad_academica, engagement_score)
-- test:     relationship(alumno_key, anio_academico -> gold.mart_student_academic_summary(alumno_key, anio_academico))
-- test:     expression(engagement_score BETWEEN 0 AND 100)
-- test:     expression(promedio_asistencia IS NULL OR promedio_asistencia BETWEEN 0 AND 100)
-- test:     expression(reinscripciones_acum >= reinscripciones_anio AND examenes_inscriptos_acum >= examenes_inscriptos)
-- test:     expression(inscripciones_cursada_acum >= inscripciones_cursada AND eventos_moodle_acum >= eventos_moodle)
-- Engagement per student and academic year on the spine of mart_student_academic_summary, so a year
-- with only a reinscription (or nothing at all) is a row. Attendance is split by system (Guaraní per
-- comisión, Moodle sessions); every fact is aggregated per student and year before joining; years are
-- the facts' academic years (exams by their date's academic year, not the calendar year). _acum columns
-- are "so far". engagement_score (0-100) = 25 x enrolled this year (reinscription, or the entry year)
-- + 25 x any course inscription + 25 x any exam inscription + 25 x promedio_asistencia / 100.
CREATE OR REPLACE TABLE gold.mart_student_engagement AS
WITH
-- Attendance counts from its cuatrimestre's start (March 1, August 1), per course: Guaraní has one row per
-- comisión, Moodle one per session day, summed here into one row per course and year.
cursos AS (
    SELECT f.alumno_key, f.anio_academico, f.sistema, f.curso,
           sum(f.sesiones) AS sesiones, sum(f.asistencias) AS asistencias, sum(f.inasistencias) AS inasistencias,
           CASE WHEN f.sistema = 'guarani' THEN avg(f.porc_asistencia)
                ELSE 100.0 * sum(f.asistencias) / NULLIF(sum(f.sesiones), 0) END AS porc_asistencia
    FROM silver.fact_attendance f
    WHERE f.anio_academico <= silver.anio_academico(getvariable('as_of'))
      AND make_date(f.anio_academico, CASE WHEN f.cuatrimestre = 2 THEN 8 ELSE 3 END, 1) <= getvariable('as_of')
    GROUP BY f.alumno_key, f.anio_academico, f.sistema, f.curso
),
asistencia AS (
    SELECT f.alumno_key, f.anio_academico,
           count(*) FILTER (WHERE f.sistema = 'guarani')                       AS cursos_asistencia_guarani,
           COALESCE(
               100.0 * sum(f.asistencias) FILTER (WHERE f.sistema = 'guarani' AND f.sesiones > 0)
                     / NULLIF(sum(f.sesiones) FILTER (WHERE f.sistema = 'guarani' AND f.sesiones > 0
                                                        AND f.asistencias IS NOT NULL), 0),
               avg(f.porc_asistencia) FILTER (WHERE f.sistema = 'guarani'))   AS asistencia_guarani_pct,
           count(*) FILTER (WHERE f.sistema = 'moodle')                        AS cursos_asistencia_moodle,
           sum(f.sesiones) FILTER (WHERE f.sistema = 'moodle')                 AS sesiones_moodle,
           100.0 * sum(f.asistencias) FILTER (WHERE f.sistema = 'moodle')
                 / NULLIF(sum(f.sesiones) FILTER (WHERE f.sistema = 'moodle'), 0) AS asistencia_moodle_pct,
           sum(f.inasistencias)                                                AS total_inasistencias,
           count(*) FILTER (WHERE f.porc_asistencia >= CAST(silver.setting('asistencia_minima_pct') AS DOUBLE))
                                                                               AS periodos_cumple_asistencia,
           count(*) FILTER (WHERE f.porc_asistencia < CAST(silver.setting('asistencia_riesgo_pct') AS DOUBLE))
                                                                               AS periodos_riesgo_asistencia
    FROM cursos f
    GROUP BY f.alumno_key, f.anio_academico
),
reinscripciones AS (
    SELECT r.alumno_key, r.anio_academico,
           count(*)                                                            AS reinscripciones_anio,
           min(r.fecha_reinscripcion)                                          AS primera_reinscripcion,
           max(r.fecha_reinscripcion)                                          AS ultima_reinscripcion
    FROM silver.fact_reinscription r
    WHERE r.anio_academico <= silver.anio_academico(getvariable('as_of'))
      AND (r.fecha_reinscripcion IS NULL OR CAST(r.fecha_reinscripcion AS DATE) <= getvariable('as_of'))
    GROUP BY r.alumno_key, r.anio_academico
),
examenes AS (
    SELECT x.alumno_key, x.anio_academico,
           count(*)                                                            AS examenes_inscriptos,
           count(DISTINCT x.elemento_key)                                      AS materias_examen
    FROM silver.fact_exam_inscription x
    WHERE x.anio_academico <= silver.anio_academico(getvariable('as_of'))
      AND (x.fecha_inscripcion IS NULL OR CAST(x.fecha_inscripcion AS DATE) <= getvariable('as_of'))
    GROUP BY x.alumno_key, x.anio_academico
),
-- Per subject first (a student may enrol in a subject twice a year), then per year.
cursadas_materia AS (
    SELECT e.alumno_key, e.anio_academico, e.elemento_key,
           count(*)                                                            AS inscripciones,
           count(*) FILTER (WHERE e.es_baja)                                   AS bajas
    FROM silver.fact_course_enrollment e
    WHERE e.anio_academico <= silver.anio_academico(getvariable('as_of'))
      AND (e.fecha_inscripcion IS NULL OR CAST(e.fecha_inscripcion AS DATE) <= getvariable('as_of'))
    GROUP BY e.alumno_key, e.anio_academico, e.elemento_key
),
cursadas AS (
    SELECT alumno_key, anio_academico,
           sum(inscripciones)                                                  AS inscripciones_cursada,
           sum(bajas)                                                          AS cursadas_bajas,
           count(*)                                                            AS materias_inscriptas
    FROM cursadas_materia
    GROUP BY alumno_key, anio_academico
),
-- A subject counts in materias_inscriptas_acum in the first year the student enrolled in it.
primera_cursada AS (
    SELECT alumno_key, elemento_key, min(anio_academico) AS anio_academico
    FROM cursadas_materia
    GROUP BY alumno_key, elemento_key
),
materias_nuevas AS (
    SELECT alumno_key, anio_academico, count(*) AS materias_nuevas
    FROM primera_cursada
    GROUP BY alumno_key, anio_academico
),
-- Per day first: fact_lms_activity has a row per course and day, and a day counts once.
moodle_dias AS (
    SELECT l.alumno_key, l.anio_academico, l.dia, sum(l.eventos) AS eventos
    FROM silver.fact_lms_activity l
    WHERE l.dia <= getvariable('as_of')
    GROUP BY l.alumno_key, l.anio_academico, l.dia
),
moodle AS (
    SELECT alumno_key, anio_academico,
           sum(eventos)                                                        AS eventos_moodle,
           count(*)                                                            AS dias_activos_moodle
    FROM moodle_dias
    GROUP BY alumno_key, anio_academico
),
-- Every (student, year) with any fact, one row each: the base of the running totals.
claves AS (
    SELECT alumno_key, anio_academico FROM reinscripciones
    UNION SELECT alumno_key, anio_academico FROM examenes
    UNION SELECT alumno_key, anio_academico FROM cursadas
    UNION SELECT alumno_key, anio_academico FROM moodle
),
acumulado AS (
    SELECT k.alumno_key, k.anio_academico,
           sum(COALESCE(r.reinscripciones_anio, 0)) OVER w                    AS reinscripciones_acum,
           sum(COALESCE(x.examenes_inscriptos, 0)) OVER w                     AS examenes_inscriptos_acum,
           sum(COALESCE(e.inscripciones_cursada, 0)) OVER w                   AS inscripciones_cursada_acum,
           sum(COALESCE(n.materias_nuevas, 0)) OVER w                         AS materias_inscriptas_acum,
           sum(COALESCE(m.eventos_moodle, 0)) OVER w                          AS eventos_moodle_acum,
           sum(COALESCE(m.dias_activos_moodle, 0)) OVER w                     AS dias_activos_moodle_acum
    FROM claves k
    LEFT JOIN reinscripciones r ON r.alumno_key = k.alumno_key AND r.anio_academico = k.anio_academico
    LEFT JOIN examenes x ON x.alumno_key = k.alumno_key AND x.anio_academico = k.anio_academico
    LEFT JOIN cursadas e ON e.alumno_key = k.alumno_key AND e.anio_academico = k.anio_academico
    LEFT JOIN materias_nuevas n ON n.alumno_key = k.alumno_key AND n.anio_academico = k.anio_academico
    LEFT JOIN moodle m ON m.alumno_key = k.alumno_key AND m.anio_academico = k.anio_academico
    WINDOW w AS (PARTITION BY k.alumno_key ORDER BY k.anio_academico)
),
filas AS (
    SELECT s.alumno_key, s.source_db, s.anio_academico,
           COALESCE(a.cursos_asistencia_guarani, 0)                            AS cursos_asistencia_guarani,
           a.asistencia_guarani_pct,
           COALESCE(a.cursos_asistencia_moodle, 0)                             AS cursos_asistencia_moodle,
           CAST(COALESCE(a.sesiones_moodle, 0) AS BIGINT)                      AS sesiones_moodle,
           a.asistencia_moodle_pct,
           -- Guaraní's record is the official one; Moodle sessions stand in only where it has none.
           COALESCE(a.asistencia_guarani_pct, a.asistencia_moodle_pct)         AS promedio_asistencia,
           CAST(COALESCE(a.total_inasistencias, 0) AS BIGINT)                  AS total_inasistencias,
           COALESCE(a.periodos_cumple_asistencia, 0)                           AS periodos_cumple_asistencia,
           COALESCE(a.periodos_riesgo_asistencia, 0)                           AS periodos_riesgo_asistencia,
           COALESCE(r.reinscripciones_anio, 0)                                 AS reinscripciones_anio,
           r.primera_reinscripcion,
           r.ultima_reinscripcion,
           COALESCE(x.examenes_inscriptos, 0)                                  AS examenes_inscriptos,
           COALESCE(x.materias_examen, 0)                                      AS materias_examen,
           CAST(COALESCE(e.inscripciones_cursada, 0) AS BIGINT)                AS inscripciones_cursada,
           CAST(COALESCE(e.cursadas_bajas, 0) AS BIGINT)                       AS cursadas_bajas,
           COALESCE(e.materias_inscriptas, 0)                                  AS materias_inscriptas,
           CAST(COALESCE(m.eventos_moodle, 0) AS BIGINT)                       AS eventos_moodle,
           COALESCE(m.dias_activos_moodle, 0)                                  AS dias_activos_moodle,
           CAST(COALESCE(k.reinscripciones_acum, 0) AS BIGINT)                 AS reinscripciones_acum,
           CAST(COALESCE(k.examenes_inscriptos_acum, 0) AS BIGINT)             AS examenes_inscriptos_acum,
           CAST(COALESCE(k.inscripciones_cursada_acum, 0) AS BIGINT)           AS inscripciones_cursada_acum,
           CAST(COALESCE(k.materias_inscriptas_acum, 0) AS BIGINT)             AS materias_inscriptas_acum,
           CAST(COALESCE(k.eventos_moodle_acum, 0) AS BIGINT)                  AS eventos_moodle_acum,
           CAST(COALESCE(k.dias_activos_moodle_acum, 0) AS BIGINT)             AS dias_activos_moodle_acum,
           s.anio_academico = s.cohorte                                        AS es_anio_ingreso,
           s.total_evaluaciones
    FROM gold.mart_student_academic_summary s
    LEFT JOIN asistencia a ON a.alumno_key = s.alumno_key AND a.anio_academico = s.anio_academico
    LEFT JOIN reinscripciones r ON r.alumno_key = s.alumno_key AND r.anio_academico = s.anio_academico
    LEFT JOIN examenes x ON x.alumno_key = s.alumno_key AND x.anio_academico = s.anio_academico
    LEFT JOIN cursadas e ON e.alumno_key = s.alumno_key AND e.anio_academico = s.anio_academico
    LEFT JOIN moodle m ON m.alumno_key = s.alumno_key AND m.anio_academico = s.anio_academico
    ASOF LEFT JOIN acumulado k ON k.alumno_key = s.alumno_key AND s.anio_academico >= k.anio_academico
)
SELECT alumno_key, source_db, anio_academico,
       cursos_asistencia_guarani, asistencia_guarani_pct,
       cursos_asistencia_moodle, sesiones_moodle, asistencia_moodle_pct,
       promedio_asistencia, total_inasistencias, periodos_cumple_asistencia, periodos_riesgo_asistencia,
       reinscripciones_anio, primera_reinscripcion, ultima_reinscripcion,
       examenes_inscriptos, materias_examen,
       inscripciones_cursada, cursadas_bajas, materias_inscriptas,
       eventos_moodle, dias_activos_moodle,
       reinscripciones_acum, examenes_inscriptos_acum, inscripciones_cursada_acum, materias_inscriptas_acum,
       eventos_moodle_acum, dias_activos_moodle_acum,
       -- Academic activity as the retention and outcome rules define it (Moodle and attendance excluded).
       (reinscripciones_anio > 0 OR examenes_inscriptos > 0 OR inscripciones_cursada > 0
        OR total_evaluaciones > 0)                                             AS actividad_academica,
       -- New students do not reinscribe in their entry year: their admission is that year's enrolment.
       CAST(25.0 * CASE WHEN reinscripciones_anio > 0 OR es_anio_ingreso THEN 1 ELSE 0 END
            + 25.0 * CASE WHEN inscripciones_cursada > 0 THEN 1 ELSE 0 END
            + 25.0 * CASE WHEN examenes_inscriptos > 0 THEN 1 ELSE 0 END
            + 0.25 * COALESCE(promedio_asistencia, 0) AS DOUBLE)             AS engagement_score
FROM filas;
