-- target:   gold.gold_tft_temporal_features
-- grain:    alumno_key, time_idx
-- upstream: gold.gold_tft_known_future, gold.gold_tft_static_features, silver.dim_student,
--           silver.fact_course_enrollment, silver.fact_exam_inscription, silver.fact_academic_performance,
--           silver.fact_reinscription, silver.fact_dropout, silver.fact_attendance, silver.fact_lms_activity,
--           silver.fact_student_status_history
-- test:     relationship(alumno_key -> gold.gold_tft_static_features(alumno_key))
-- test:     relationship(time_idx -> gold.gold_tft_known_future(time_idx))
-- test:     expression(semestres_desde_ingreso >= 0 AND semestres_inactivo >= 0)
-- test:     expression(asistencia_guarani BETWEEN 0 AND 100 AND asistencia_moodle BETWEEN 0 AND 100)
-- Dense student x semester spine, built from the calendar (not from facts): from primer_time_idx (the
-- later of the entry semester and the first semester the source has detailed records for) to the last
-- closed semester, or to the semester in which the student's graduation became known. Inactive semesters
-- are rows. Point in time: every fact counts in the first semester whose as-of date is on or after the
-- day Guaraní knew it, so a row holds exactly what was known at its as_of_date and never changes later:
-- inscriptions and reinscriptions by their day; course and final results by the later of their day and
-- their acta's recording day (fecha_conocido); Guaraní's accumulated attendance on the last day of
-- classes (it has no history, so a running course, an annual one until November, contributes nothing
-- before); Moodle attendance and activity by session and event day. Status is taken as of as_of_date.
-- Nothing whose past Guaraní does not keep is a feature: not the census (edited in place) and not
-- cancellations (an inscription's estado B has no date) (GOLD_RULES.md). Cumulative columns look only
-- backwards. inscripto_siguiente: by as_of_date the student had enrolled in a course of a later semester;
-- inscripcion_siguiente_abierta: someone in the source had (the enrolment for next semester had opened).
-- cursadas_en_curso: courses running in the row's window whose result Guaraní did not have by as_of_date.
CREATE OR REPLACE TABLE gold.gold_tft_temporal_features AS
WITH cal AS (
    SELECT time_idx, as_of_date, cerrado,
           COALESCE(lag(as_of_date) OVER (ORDER BY time_idx), DATE '1900-01-01') AS as_of_anterior
    FROM gold.gold_tft_known_future
),
cursadas AS (
    SELECT e.alumno_key, k.time_idx,
           count(*) AS cursadas_inscriptas,
           count(*) FILTER (WHERE e.periodo_inicio > k.as_of_date) AS inscripciones_siguiente
    FROM silver.fact_course_enrollment e
    ASOF JOIN cal k ON CAST(e.fecha_inscripcion AS DATE) <= k.as_of_date
    GROUP BY ALL
),
apertura AS (
    -- semesters by whose as-of date some student of the source enrolled in a later semester's course
    SELECT DISTINCT e.source_db, k.time_idx
    FROM silver.fact_course_enrollment e
    ASOF JOIN cal k ON CAST(e.fecha_inscripcion AS DATE) <= k.as_of_date
    WHERE e.periodo_inicio > k.as_of_date
),
resultados_cursada AS (
    SELECT e.alumno_key, k.time_idx,
           count(*) FILTER (WHERE e.ausente_flag = 0) AS cursadas_con_resultado_activo,
           sum(e.aprobada_flag) AS cursadas_regularizadas,
           sum(e.reprobada_flag) AS cursadas_desaprobadas,
           sum(e.ausente_flag) AS cursadas_libres
    FROM silver.fact_course_enrollment e
    ASOF JOIN cal k ON COALESCE(e.fecha_conocido_resultado, e.fecha_resultado) <= k.as_of_date
    WHERE e.fecha_resultado IS NOT NULL
    GROUP BY ALL
),
en_curso AS (
    -- courses running in the row's window whose result was not known by its as-of date: classes still
    -- going (an annual course in July) or an acta not yet closed
    SELECT e.alumno_key, k.time_idx, count(*) AS cursadas_en_curso
    FROM silver.fact_course_enrollment e
    JOIN cal k
      ON CAST(e.fecha_inscripcion AS DATE) <= k.as_of_date
     AND e.periodo_inicio <= k.as_of_date
     AND COALESCE(e.fin_dictado, e.periodo_inicio) > k.as_of_anterior
     AND (e.fecha_resultado IS NULL OR COALESCE(e.fecha_conocido_resultado, e.fecha_resultado) > k.as_of_date)
    GROUP BY ALL
),
inscripciones_examen AS (
    SELECT e.alumno_key, k.time_idx, count(*) AS examenes_inscriptos
    FROM silver.fact_exam_inscription e
    ASOF JOIN cal k ON CAST(e.fecha_inscripcion AS DATE) <= k.as_of_date
    GROUP BY ALL
),
resultados AS (
    SELECT e.alumno_key, k.time_idx,
           count(*) FILTER (WHERE e.ausente_flag = 0) AS resultados_activos,
           sum(e.aprobado_flag) AS examenes_aprobados,
           sum(e.reprobado_flag) AS examenes_reprobados,
           sum(e.ausente_flag) AS examenes_ausentes,
           sum(e.nota_num) AS suma_notas,
           count(e.nota_num) AS cantidad_notas,
           sum(CASE WHEN e.aprobado_flag = 1 THEN e.creditos ELSE 0 END) AS creditos_obtenidos
    FROM silver.fact_academic_performance e
    ASOF JOIN cal k ON COALESCE(e.fecha_conocido, e.fecha_evaluacion) <= k.as_of_date
    WHERE e.fecha_evaluacion IS NOT NULL
    GROUP BY ALL
),
reinscripciones AS (
    SELECT e.alumno_key, k.time_idx, count(*) AS reinscripciones
    FROM silver.fact_reinscription e
    ASOF JOIN cal k ON CAST(e.fecha_reinscripcion AS DATE) <= k.as_of_date
    GROUP BY ALL
),
estado AS (
    SELECT e.alumno_key, k.time_idx,
           count(*) FILTER (WHERE e.tipo_evento = 'perdida_regularidad') AS perdidas,
           count(*) FILTER (WHERE e.tipo_evento = 'reincorporacion') AS reincorporaciones
    FROM silver.fact_dropout e
    ASOF JOIN cal k ON e.fecha_evento <= k.as_of_date
    WHERE e.tipo_evento IN ('perdida_regularidad', 'reincorporacion')
    GROUP BY ALL
),
moodle_dias AS (
    SELECT alumno_key, dia, sum(eventos) AS eventos FROM silver.fact_lms_activity GROUP BY ALL
),
moodle AS (
    SELECT e.alumno_key, k.time_idx,
           sum(e.eventos) AS moodle_eventos,
           count(*) AS moodle_dias_activos
    FROM moodle_dias e
    ASOF JOIN cal k ON e.dia <= k.as_of_date
    GROUP BY ALL
),
asistencia AS (
    SELECT f.alumno_key, k.time_idx,
           -- in DECIMAL: a DOUBLE average depends on the order rows arrive in (builds must be identical)
           CAST(avg(CAST(f.porc_asistencia AS DECIMAL(18, 6))) FILTER (WHERE f.sistema = 'guarani') AS DOUBLE)
               AS asistencia_guarani,
           sum(f.riesgo_asistencia_flag) FILTER (WHERE f.sistema = 'guarani') AS cursadas_riesgo_asistencia,
           100.0 * sum(f.asistencias) FILTER (WHERE f.sistema = 'moodle')
                 / NULLIF(sum(f.sesiones) FILTER (WHERE f.sistema = 'moodle'), 0) AS asistencia_moodle
    FROM silver.fact_attendance f
    ASOF JOIN cal k ON f.fecha <= k.as_of_date
    WHERE f.fecha IS NOT NULL
    GROUP BY ALL
),
egreso AS (
    -- the semester in which the graduation became known (its certificate), not the last exam's
    SELECT e.alumno_key, min(k.time_idx) AS time_idx_egreso
    FROM silver.fact_dropout e
    ASOF JOIN cal k ON COALESCE(e.fecha_conocido, e.fecha_evento) <= k.as_of_date
    WHERE e.tipo_evento = 'egreso'
    GROUP BY ALL
),
spine AS (
    SELECT s.alumno_key, s.primer_time_idx, s.time_idx_ingreso, d.source_db, k.time_idx, k.as_of_date
    FROM gold.gold_tft_static_features s
    JOIN silver.dim_student d ON d.alumno_key = s.alumno_key
    LEFT JOIN egreso g ON g.alumno_key = s.alumno_key
    JOIN cal k
      ON k.cerrado
     AND k.time_idx >= s.primer_time_idx
     AND k.time_idx <= COALESCE(g.time_idx_egreso, k.time_idx)
),
calidad AS (
    -- the last change of each day, so an as-of lookup by day is unambiguous
    SELECT alumno_key, CAST(fecha_cambio AS DATE) AS dia, calidad
    FROM silver.fact_student_status_history
    QUALIFY row_number() OVER (PARTITION BY alumno_key, CAST(fecha_cambio AS DATE)
                               ORDER BY fecha_cambio DESC, nro_cambio DESC) = 1
),
semestre AS (
    SELECT sp.alumno_key, sp.time_idx, sp.as_of_date, sp.primer_time_idx, sp.time_idx_ingreso,
           CAST(COALESCE(c.cursadas_inscriptas, 0) AS DOUBLE)     AS cursadas_inscriptas,
           CAST(COALESCE(rc.cursadas_regularizadas, 0) AS DOUBLE) AS cursadas_regularizadas,
           CAST(COALESCE(rc.cursadas_desaprobadas, 0) AS DOUBLE)  AS cursadas_desaprobadas,
           CAST(COALESCE(rc.cursadas_libres, 0) AS DOUBLE)        AS cursadas_libres,
           CAST(COALESCE(ec.cursadas_en_curso, 0) AS DOUBLE)      AS cursadas_en_curso,
           CAST(COALESCE(ie.examenes_inscriptos, 0) AS DOUBLE)    AS examenes_inscriptos,
           CAST(COALESCE(r.examenes_aprobados, 0) AS DOUBLE)      AS examenes_aprobados,
           CAST(COALESCE(r.examenes_reprobados, 0) AS DOUBLE)     AS examenes_reprobados,
           CAST(COALESCE(r.examenes_ausentes, 0) AS DOUBLE)       AS examenes_ausentes,
           CAST(COALESCE(r.suma_notas / NULLIF(r.cantidad_notas, 0), 0) AS DOUBLE) AS promedio_notas,
           gold.flag(COALESCE(r.cantidad_notas, 0) = 0)           AS promedio_notas_missing,
           COALESCE(r.suma_notas, 0)                              AS suma_notas,
           COALESCE(r.cantidad_notas, 0)                          AS cantidad_notas,
           CAST(COALESCE(r.creditos_obtenidos, 0) AS DOUBLE)      AS creditos_obtenidos,
           gold.flag(COALESCE(ri.reinscripciones, 0) > 0)         AS reinscripto,
           gold.flag(COALESCE(c.inscripciones_siguiente, 0) > 0)  AS inscripto_siguiente,
           gold.flag(ap.time_idx IS NOT NULL)                     AS inscripcion_siguiente_abierta,
           CAST(COALESCE(a.asistencia_guarani, 0) AS DOUBLE)      AS asistencia_guarani,
           gold.flag(a.asistencia_guarani IS NULL)                AS asistencia_guarani_missing,
           CAST(COALESCE(a.cursadas_riesgo_asistencia, 0) AS DOUBLE) AS cursadas_riesgo_asistencia,
           CAST(COALESCE(a.asistencia_moodle, 0) AS DOUBLE)       AS asistencia_moodle,
           gold.flag(a.asistencia_moodle IS NULL)                 AS asistencia_moodle_missing,
           CAST(COALESCE(m.moodle_eventos, 0) AS DOUBLE)          AS moodle_eventos,
           CAST(COALESCE(m.moodle_dias_activos, 0) AS DOUBLE)     AS moodle_dias_activos,
           COALESCE(e.perdidas, 0)                                AS perdidas,
           COALESCE(e.reincorporaciones, 0)                       AS reincorporaciones,
           -- academic activity: an inscription, a result that is not an absence, or a reinscription; an
           -- acta that only records an absence is a passive record, not activity
           COALESCE(c.cursadas_inscriptas, 0) + COALESCE(rc.cursadas_con_resultado_activo, 0)
               + COALESCE(ie.examenes_inscriptos, 0) + COALESCE(r.resultados_activos, 0)
               + COALESCE(ri.reinscripciones, 0) > 0              AS es_activo
    FROM spine sp
    LEFT JOIN cursadas c ON c.alumno_key = sp.alumno_key AND c.time_idx = sp.time_idx
    LEFT JOIN apertura ap ON ap.source_db = sp.source_db AND ap.time_idx = sp.time_idx
    LEFT JOIN en_curso ec ON ec.alumno_key = sp.alumno_key AND ec.time_idx = sp.time_idx
    LEFT JOIN resultados_cursada rc ON rc.alumno_key = sp.alumno_key AND rc.time_idx = sp.time_idx
    LEFT JOIN inscripciones_examen ie ON ie.alumno_key = sp.alumno_key AND ie.time_idx = sp.time_idx
    LEFT JOIN resultados r ON r.alumno_key = sp.alumno_key AND r.time_idx = sp.time_idx
    LEFT JOIN reinscripciones ri ON ri.alumno_key = sp.alumno_key AND ri.time_idx = sp.time_idx
    LEFT JOIN estado e ON e.alumno_key = sp.alumno_key AND e.time_idx = sp.time_idx
    LEFT JOIN moodle m ON m.alumno_key = sp.alumno_key AND m.time_idx = sp.time_idx
    LEFT JOIN asistencia a ON a.alumno_key = sp.alumno_key AND a.time_idx = sp.time_idx
),
al_corte AS (
    SELECT s.*, q.calidad AS calidad_corte
    FROM semestre s
    ASOF LEFT JOIN calidad q ON q.alumno_key = s.alumno_key AND s.as_of_date >= q.dia
)
SELECT alumno_key,
       time_idx,
       as_of_date,
       CAST(time_idx - time_idx_ingreso AS DOUBLE)                         AS semestres_desde_ingreso,
       cursadas_inscriptas, cursadas_regularizadas, cursadas_desaprobadas, cursadas_libres, cursadas_en_curso,
       examenes_inscriptos, examenes_aprobados, examenes_reprobados, examenes_ausentes,
       promedio_notas, promedio_notas_missing, creditos_obtenidos, reinscripto,
       inscripto_siguiente, inscripcion_siguiente_abierta,
       asistencia_guarani, asistencia_guarani_missing, cursadas_riesgo_asistencia,
       asistencia_moodle, asistencia_moodle_missing, moodle_eventos, moodle_dias_activos,
       gold.flag(es_activo)                                                AS activo,
       gold.flag(perdidas > 0)                                             AS perdio_regularidad,
       gold.cat(calidad_corte)                                             AS calidad_al_corte,
       CAST(sum(examenes_aprobados) OVER w AS DOUBLE)                      AS aprobadas_acum,
       CAST(sum(cursadas_regularizadas) OVER w AS DOUBLE)                  AS regularizadas_acum,
       CAST(sum(examenes_reprobados + examenes_ausentes + cursadas_desaprobadas + cursadas_libres) OVER w
            AS DOUBLE)                                                     AS fracasos_acum,
       CAST(sum(creditos_obtenidos) OVER w AS DOUBLE)                      AS creditos_acum,
       CAST(COALESCE(sum(suma_notas) OVER w / NULLIF(sum(cantidad_notas) OVER w, 0), 0) AS DOUBLE)
                                                                           AS promedio_historico,
       gold.flag(sum(cantidad_notas) OVER w = 0)                           AS promedio_historico_missing,
       CAST(sum(CAST(es_activo AS INTEGER)) OVER w AS DOUBLE)              AS semestres_activos_acum,
       -- consecutive inactive semesters up to and including this one
       CAST(time_idx - COALESCE(max(CASE WHEN es_activo THEN time_idx END) OVER w, primer_time_idx - 1)
            AS DOUBLE)                                                     AS semestres_inactivo,
       CAST(sum(perdidas) OVER w AS DOUBLE)                                AS perdidas_regularidad_acum,
       CAST(sum(reincorporaciones) OVER w AS DOUBLE)                       AS reincorporaciones_acum
FROM al_corte
WINDOW w AS (PARTITION BY alumno_key ORDER BY time_idx ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY alumno_key, time_idx;
