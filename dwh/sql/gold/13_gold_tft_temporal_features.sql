-- target:   gold.gold_tft_temporal_features
-- grain:    alumno_key, time_idx
-- upstream: gold.gold_tft_known_future, gold.gold_tft_static_features, silver.dim_student, silver.dim_census,
--           silver.fact_course_enrollment, silver.fact_exam_inscription, silver.fact_academic_performance,
--           silver.fact_reinscription, silver.fact_dropout, silver.fact_attendance, silver.fact_lms_activity,
--           silver.fact_student_status_history
-- test:     relationship(alumno_key -> gold.gold_tft_static_features(alumno_key))
-- test:     relationship(time_idx -> gold.gold_tft_known_future(time_idx))
-- test:     expression(semestres_desde_ingreso >= 0 AND semestres_inactivo >= 0)
-- test:     expression(asistencia_guarani BETWEEN 0 AND 100 AND asistencia_moodle BETWEEN 0 AND 100)
-- Dense student x semester spine, built from the calendar (not from facts): from the entry semester to
-- the last closed semester, or to the graduation semester. Inactive semesters are rows. Every dated
-- event counts in the semester whose window (ventana_desde, as_of_date] holds its date, so a row sees
-- only what was recorded by its as_of_date; attendance, which has no date, counts in its own
-- cuatrimestre (classes end before the as-of date). Status and census are taken as of as_of_date.
-- Cumulative columns (_acum, promedio_historico, semestres_inactivo) look only backwards.
CREATE OR REPLACE TABLE gold.gold_tft_temporal_features AS
WITH cal AS (
    SELECT time_idx, as_of_date, cerrado FROM gold.gold_tft_known_future
),
cursadas AS (
    SELECT e.student_key, k.time_idx,
           count(*) AS cursadas_inscriptas,
           count(*) FILTER (WHERE e.es_baja) AS cursadas_bajas
    FROM silver.fact_course_enrollment e
    ASOF JOIN cal k ON CAST(e.fecha_inscripcion AS DATE) <= k.as_of_date
    GROUP BY ALL
),
resultados_cursada AS (
    SELECT e.student_key, k.time_idx,
           count(*) AS cursadas_con_resultado,
           sum(e.aprobada_flag) AS cursadas_regularizadas,
           sum(e.reprobada_flag) AS cursadas_desaprobadas,
           sum(e.ausente_flag) AS cursadas_libres
    FROM silver.fact_course_enrollment e
    ASOF JOIN cal k ON e.fecha_resultado <= k.as_of_date
    WHERE e.fecha_resultado IS NOT NULL
    GROUP BY ALL
),
inscripciones_examen AS (
    SELECT e.student_key, k.time_idx, count(*) AS examenes_inscriptos
    FROM silver.fact_exam_inscription e
    ASOF JOIN cal k ON CAST(e.fecha_inscripcion AS DATE) <= k.as_of_date
    GROUP BY ALL
),
resultados AS (
    SELECT e.student_key, k.time_idx,
           count(*) AS resultados,
           sum(e.aprobado_flag) AS examenes_aprobados,
           sum(e.reprobado_flag) AS examenes_reprobados,
           sum(e.ausente_flag) AS examenes_ausentes,
           sum(e.nota_num) AS suma_notas,
           count(e.nota_num) AS cantidad_notas,
           sum(CASE WHEN e.aprobado_flag = 1 THEN e.creditos ELSE 0 END) AS creditos_obtenidos
    FROM silver.fact_academic_performance e
    ASOF JOIN cal k ON e.fecha_evaluacion <= k.as_of_date
    WHERE e.fecha_evaluacion IS NOT NULL
    GROUP BY ALL
),
reinscripciones AS (
    SELECT e.student_key, k.time_idx, count(*) AS reinscripciones
    FROM silver.fact_reinscription e
    ASOF JOIN cal k ON CAST(e.fecha_reinscripcion AS DATE) <= k.as_of_date
    GROUP BY ALL
),
estado AS (
    SELECT e.student_key, k.time_idx,
           count(*) FILTER (WHERE e.tipo_evento = 'perdida_regularidad') AS perdidas,
           count(*) FILTER (WHERE e.tipo_evento = 'reincorporacion') AS reincorporaciones,
           count(*) FILTER (WHERE e.tipo_evento = 'egreso') AS egresos
    FROM silver.fact_dropout e
    ASOF JOIN cal k ON e.fecha_evento <= k.as_of_date
    WHERE e.tipo_evento IN ('perdida_regularidad', 'reincorporacion', 'egreso')
    GROUP BY ALL
),
moodle AS (
    SELECT e.student_key, k.time_idx,
           sum(e.eventos) AS moodle_eventos,
           count(DISTINCT e.dia) AS moodle_dias_activos
    FROM silver.fact_lms_activity e
    ASOF JOIN cal k ON e.dia <= k.as_of_date
    GROUP BY ALL
),
asistencia AS (
    SELECT student_key, gold.semestre_idx(anio_academico, cuatrimestre) AS time_idx,
           avg(porc_asistencia) FILTER (WHERE sistema = 'guarani') AS asistencia_guarani,
           sum(riesgo_asistencia_flag) FILTER (WHERE sistema = 'guarani') AS cursadas_riesgo_asistencia,
           avg(porc_asistencia) FILTER (WHERE sistema = 'moodle') AS asistencia_moodle
    FROM silver.fact_attendance
    WHERE anio_academico IS NOT NULL AND cuatrimestre IS NOT NULL
    GROUP BY ALL
),
egreso AS (
    SELECT student_key, min(time_idx) AS time_idx_egreso FROM estado WHERE egresos > 0 GROUP BY ALL
),
spine AS (
    SELECT s.alumno_key, s.primer_time_idx, d.persona_key, k.time_idx, k.as_of_date
    FROM gold.gold_tft_static_features s
    JOIN silver.dim_student d ON d.student_key = s.alumno_key
    LEFT JOIN egreso g ON g.student_key = s.alumno_key
    JOIN cal k
      ON k.cerrado
     AND k.time_idx >= s.primer_time_idx
     AND k.time_idx <= COALESCE(g.time_idx_egreso, k.time_idx)
),
calidad AS (
    -- the last change of each day, so an as-of lookup by day is unambiguous
    SELECT student_key, CAST(fecha_cambio AS DATE) AS dia, calidad
    FROM silver.fact_student_status_history
    QUALIFY row_number() OVER (PARTITION BY student_key, CAST(fecha_cambio AS DATE)
                               ORDER BY fecha_cambio DESC, nro_cambio DESC) = 1
),
censo AS (
    -- dim_census gives the loser of two same-day censuses an empty interval
    SELECT persona_key, valid_from, trabajo_existe_desc, trabajo_hora_sem, beca
    FROM silver.dim_census
    WHERE valid_to IS NULL OR valid_to >= valid_from
),
semestre AS (
    SELECT sp.alumno_key, sp.time_idx, sp.as_of_date, sp.primer_time_idx,
           CAST(COALESCE(c.cursadas_inscriptas, 0) AS DOUBLE)     AS cursadas_inscriptas,
           CAST(COALESCE(c.cursadas_bajas, 0) AS DOUBLE)          AS cursadas_bajas,
           CAST(COALESCE(rc.cursadas_regularizadas, 0) AS DOUBLE) AS cursadas_regularizadas,
           CAST(COALESCE(rc.cursadas_desaprobadas, 0) AS DOUBLE)  AS cursadas_desaprobadas,
           CAST(COALESCE(rc.cursadas_libres, 0) AS DOUBLE)        AS cursadas_libres,
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
           CAST(COALESCE(a.asistencia_guarani, 0) AS DOUBLE)      AS asistencia_guarani,
           gold.flag(a.asistencia_guarani IS NULL)                AS asistencia_guarani_missing,
           CAST(COALESCE(a.cursadas_riesgo_asistencia, 0) AS DOUBLE) AS cursadas_riesgo_asistencia,
           CAST(COALESCE(a.asistencia_moodle, 0) AS DOUBLE)       AS asistencia_moodle,
           gold.flag(a.asistencia_moodle IS NULL)                 AS asistencia_moodle_missing,
           CAST(COALESCE(m.moodle_eventos, 0) AS DOUBLE)          AS moodle_eventos,
           CAST(COALESCE(m.moodle_dias_activos, 0) AS DOUBLE)     AS moodle_dias_activos,
           COALESCE(e.perdidas, 0)                                AS perdidas,
           COALESCE(e.reincorporaciones, 0)                       AS reincorporaciones,
           -- the label's notion of academic activity: an inscription, a result or a reinscription
           COALESCE(c.cursadas_inscriptas, 0) + COALESCE(rc.cursadas_con_resultado, 0)
               + COALESCE(ie.examenes_inscriptos, 0) + COALESCE(r.resultados, 0)
               + COALESCE(ri.reinscripciones, 0) > 0              AS es_activo,
           sp.persona_key
    FROM spine sp
    LEFT JOIN cursadas c ON c.student_key = sp.alumno_key AND c.time_idx = sp.time_idx
    LEFT JOIN resultados_cursada rc ON rc.student_key = sp.alumno_key AND rc.time_idx = sp.time_idx
    LEFT JOIN inscripciones_examen ie ON ie.student_key = sp.alumno_key AND ie.time_idx = sp.time_idx
    LEFT JOIN resultados r ON r.student_key = sp.alumno_key AND r.time_idx = sp.time_idx
    LEFT JOIN reinscripciones ri ON ri.student_key = sp.alumno_key AND ri.time_idx = sp.time_idx
    LEFT JOIN estado e ON e.student_key = sp.alumno_key AND e.time_idx = sp.time_idx
    LEFT JOIN moodle m ON m.student_key = sp.alumno_key AND m.time_idx = sp.time_idx
    LEFT JOIN asistencia a ON a.student_key = sp.alumno_key AND a.time_idx = sp.time_idx
),
al_corte AS (
    SELECT s.*, q.calidad AS calidad_corte
    FROM semestre s
    ASOF LEFT JOIN calidad q ON q.student_key = s.alumno_key AND s.as_of_date >= q.dia
),
con_censo AS (
    SELECT s.*, z.trabajo_existe_desc, z.trabajo_hora_sem, z.beca
    FROM al_corte s
    ASOF LEFT JOIN censo z ON z.persona_key = s.persona_key AND s.as_of_date >= z.valid_from
)
SELECT alumno_key,
       time_idx,
       as_of_date,
       CAST(time_idx - primer_time_idx AS DOUBLE)                          AS semestres_desde_ingreso,
       cursadas_inscriptas, cursadas_bajas, cursadas_regularizadas, cursadas_desaprobadas, cursadas_libres,
       examenes_inscriptos, examenes_aprobados, examenes_reprobados, examenes_ausentes,
       promedio_notas, promedio_notas_missing, creditos_obtenidos, reinscripto,
       asistencia_guarani, asistencia_guarani_missing, cursadas_riesgo_asistencia,
       asistencia_moodle, asistencia_moodle_missing, moodle_eventos, moodle_dias_activos,
       gold.flag(es_activo)                                                AS activo,
       gold.flag(perdidas > 0)                                             AS perdio_regularidad,
       gold.cat(calidad_corte)                                             AS calidad_al_corte,
       gold.cat(trabajo_existe_desc)                                       AS trabaja_al_corte,
       CAST(COALESCE(trabajo_hora_sem, 0) AS DOUBLE)                       AS horas_trabajo_al_corte,
       gold.flag(trabajo_hora_sem IS NULL)                                 AS horas_trabajo_al_corte_missing,
       gold.flag(beca)                                                     AS beca_al_corte,
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
FROM con_censo
WINDOW w AS (PARTITION BY alumno_key ORDER BY time_idx ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY alumno_key, time_idx;
