-- target:   gold.mart_student_academic_summary
-- grain:    alumno_key, anio_academico
-- upstream: silver.dim_student, silver.fact_dropout, silver.fact_academic_performance
-- test:     not_null(source_db, cohorte, anio_desde_ingreso, anio_cerrado, es_anio_egreso)
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     expression(anio_academico >= cohorte)
-- test:     expression(evaluaciones_con_resultado = materias_aprobadas + materias_reprobadas + materias_ausente)
-- test:     expression(tasa_aprobacion IS NULL OR tasa_aprobacion BETWEEN 0 AND 1)
-- test:     expression(tasa_aprobacion_historica IS NULL OR tasa_aprobacion_historica BETWEEN 0 AND 1)
-- test:     expression(materias_aprobadas_acum >= materias_aprobadas AND total_evaluaciones_acum >= total_evaluaciones)
-- The student x academic-year spine of gold, with final results (exams, promotions) per year: every year
-- from the cohort to the as-of date's academic year, ending with the graduation year; years without
-- results are rows. _acum columns and the *_historica rates are "so far" (up to and including the row's
-- year), weighted by attempts. Nothing recorded after the as-of date counts.
CREATE OR REPLACE TABLE gold.mart_student_academic_summary AS
WITH egresos AS (
    SELECT d.alumno_key, min(d.anio_academico) AS anio_egreso
    FROM silver.fact_dropout d
    WHERE d.tipo_evento = 'egreso' AND d.fecha_evento <= getvariable('as_of')
    GROUP BY d.alumno_key
),
-- A student who entered after the as-of date does not exist yet at that date.
estudiantes AS (
    SELECT s.alumno_key, s.source_db, s.anio_ingreso AS cohorte, e.anio_egreso,
           GREATEST(s.anio_ingreso,
                    LEAST(silver.anio_academico(getvariable('as_of')),
                          COALESCE(e.anio_egreso, silver.anio_academico(getvariable('as_of'))))) AS anio_fin
    FROM silver.dim_student s
    LEFT JOIN egresos e ON e.alumno_key = s.alumno_key
    WHERE s.anio_ingreso <= silver.anio_academico(getvariable('as_of'))
      AND (s.fecha_ingreso IS NULL OR s.fecha_ingreso <= getvariable('as_of'))
),
spine AS (
    SELECT alumno_key, source_db, cohorte, anio_egreso,
           CAST(unnest(generate_series(cohorte, anio_fin)) AS INTEGER) AS anio_academico
    FROM estudiantes
),
resultados AS (
    SELECT p.alumno_key, p.anio_academico, p.elemento_key, p.nota_num, p.creditos,
           p.aprobado_flag, p.reprobado_flag, p.ausente_flag
    FROM silver.fact_academic_performance p
    WHERE p.anio_academico <= silver.anio_academico(getvariable('as_of'))
      AND (p.fecha_evaluacion IS NULL OR p.fecha_evaluacion <= getvariable('as_of'))
),
-- Each student's results are aggregated per year first, so nothing joins row to row (no fan-out).
por_anio AS (
    SELECT alumno_key, anio_academico,
           count(*)                                                    AS total_evaluaciones,
           count(*) FILTER (WHERE aprobado_flag + reprobado_flag + ausente_flag = 1)
                                                                       AS evaluaciones_con_resultado,
           count(DISTINCT elemento_key)                                AS materias_cursadas,
           count(*) FILTER (WHERE aprobado_flag = 1)                   AS materias_aprobadas,
           count(*) FILTER (WHERE reprobado_flag = 1)                  AS materias_reprobadas,
           count(*) FILTER (WHERE ausente_flag = 1)                    AS materias_ausente,
           count(nota_num)                                             AS notas_numericas,
           sum(nota_num)                                               AS suma_notas,
           avg(nota_num)                                               AS promedio_notas,
           min(nota_num)                                               AS nota_minima,
           max(nota_num)                                               AS nota_maxima,
           stddev_samp(nota_num)                                       AS desviacion_notas,
           CAST(COALESCE(sum(creditos) FILTER (WHERE aprobado_flag = 1), 0) AS DOUBLE) AS creditos_aprobados
    FROM resultados
    GROUP BY alumno_key, anio_academico
),
primera_aprobacion AS (
    SELECT alumno_key, elemento_key, min(anio_academico) AS anio_academico
    FROM resultados
    WHERE aprobado_flag = 1
    GROUP BY alumno_key, elemento_key
),
materias_nuevas AS (
    SELECT alumno_key, anio_academico, count(*) AS materias_nuevas
    FROM primera_aprobacion
    GROUP BY alumno_key, anio_academico
),
-- Running totals over the years with results; a spine year takes the last one at or before it (ASOF),
-- so results dated before the cohort count in the cohort's totals and gap years carry the totals on.
acumulado AS (
    SELECT p.alumno_key, p.anio_academico,
           sum(p.total_evaluaciones) OVER w                            AS total_evaluaciones_acum,
           sum(p.evaluaciones_con_resultado) OVER w                    AS evaluaciones_con_resultado_acum,
           sum(p.materias_aprobadas) OVER w                            AS materias_aprobadas_acum,
           sum(p.materias_reprobadas) OVER w                           AS materias_reprobadas_acum,
           sum(p.materias_ausente) OVER w                              AS materias_ausente_acum,
           sum(COALESCE(n.materias_nuevas, 0)) OVER w                  AS materias_aprobadas_distintas_acum,
           sum(p.creditos_aprobados) OVER w                            AS creditos_aprobados_acum,
           sum(p.notas_numericas) OVER w                               AS notas_numericas_acum,
           sum(p.suma_notas) OVER w                                    AS suma_notas_acum
    FROM por_anio p
    LEFT JOIN materias_nuevas n ON n.alumno_key = p.alumno_key AND n.anio_academico = p.anio_academico
    WINDOW w AS (PARTITION BY p.alumno_key ORDER BY p.anio_academico)
),
filas AS (
    SELECT s.alumno_key, s.source_db, s.anio_academico, s.cohorte,
           s.anio_academico - s.cohorte                                AS anio_desde_ingreso,
           getvariable('as_of') > make_date(s.anio_academico + 1, 3, 1) - 1         AS anio_cerrado,
           COALESCE(s.anio_academico = s.anio_egreso, FALSE)           AS es_anio_egreso,
           COALESCE(p.total_evaluaciones, 0)                           AS total_evaluaciones,
           COALESCE(p.evaluaciones_con_resultado, 0)                   AS evaluaciones_con_resultado,
           COALESCE(p.materias_cursadas, 0)                            AS materias_cursadas,
           COALESCE(p.materias_aprobadas, 0)                           AS materias_aprobadas,
           COALESCE(p.materias_reprobadas, 0)                          AS materias_reprobadas,
           COALESCE(p.materias_ausente, 0)                             AS materias_ausente,
           CAST(p.materias_aprobadas AS DOUBLE) / NULLIF(p.evaluaciones_con_resultado, 0) AS tasa_aprobacion,
           CAST(p.materias_reprobadas AS DOUBLE) / NULLIF(p.evaluaciones_con_resultado, 0) AS tasa_reprobacion,
           CAST(p.materias_ausente AS DOUBLE) / NULLIF(p.evaluaciones_con_resultado, 0) AS tasa_ausentismo,
           COALESCE(p.notas_numericas, 0)                              AS notas_numericas,
           p.promedio_notas,
           p.nota_minima,
           p.nota_maxima,
           p.desviacion_notas,
           COALESCE(p.creditos_aprobados, 0)                           AS creditos_aprobados,
           CAST(COALESCE(a.total_evaluaciones_acum, 0) AS BIGINT)      AS total_evaluaciones_acum,
           CAST(COALESCE(a.evaluaciones_con_resultado_acum, 0) AS BIGINT) AS evaluaciones_con_resultado_acum,
           CAST(COALESCE(a.materias_aprobadas_acum, 0) AS BIGINT)      AS materias_aprobadas_acum,
           CAST(COALESCE(a.materias_reprobadas_acum, 0) AS BIGINT)     AS materias_reprobadas_acum,
           CAST(COALESCE(a.materias_ausente_acum, 0) AS BIGINT)        AS materias_ausente_acum,
           CAST(COALESCE(a.materias_aprobadas_distintas_acum, 0) AS BIGINT) AS materias_aprobadas_distintas_acum,
           COALESCE(a.creditos_aprobados_acum, 0)                      AS creditos_aprobados_acum,
           CAST(COALESCE(a.notas_numericas_acum, 0) AS BIGINT)         AS notas_numericas_acum,
           a.suma_notas_acum / NULLIF(a.notas_numericas_acum, 0)       AS promedio_historico,
           CAST(a.materias_aprobadas_acum AS DOUBLE) / NULLIF(a.evaluaciones_con_resultado_acum, 0)
                                                                       AS tasa_aprobacion_historica
    FROM spine s
    LEFT JOIN por_anio p ON p.alumno_key = s.alumno_key AND p.anio_academico = s.anio_academico
    ASOF LEFT JOIN acumulado a ON a.alumno_key = s.alumno_key AND s.anio_academico >= a.anio_academico
)
-- The spine is dense, so the previous row is the previous academic year.
SELECT *,
       promedio_notas - lag(promedio_notas) OVER w                     AS variacion_promedio,
       tasa_aprobacion - lag(tasa_aprobacion) OVER w                   AS variacion_tasa_aprobacion
FROM filas
WINDOW w AS (PARTITION BY alumno_key ORDER BY anio_academico);
