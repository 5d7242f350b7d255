-- target:   gold.mart_cohort_analysis
-- grain:    cohorte, source_db, propuesta_key, facultad_key, sede_nombre
-- upstream: gold.mart_student_academic_summary, gold.mart_student_engagement, silver.dim_student,
--           silver.fact_academic_performance
-- test:     not_null(total_estudiantes, seguimiento_incompleto_1_anio, seguimiento_incompleto_2_anios)
-- test:     expression(seguimiento_incompleto_1_anio = (retenidos_1_anio IS NULL))
-- test:     expression(seguimiento_incompleto_2_anios = (retenidos_2_anios IS NULL))
-- test:     expression(retenidos_1_anio IS NULL OR retenidos_1_anio BETWEEN 0 AND total_estudiantes)
-- test:     expression(tasa_retencion_1_anio IS NULL OR tasa_retencion_1_anio BETWEEN 0 AND 1)
-- test:     expression(tasa_retencion_2_anios IS NULL OR tasa_retencion_2_anios BETWEEN 0 AND 1)
-- test:     expression(tasa_aprobacion_cohorte IS NULL OR tasa_aprobacion_cohorte BETWEEN 0 AND 1)
-- One row per cohort (academic year of entry), source, program, faculty and site. Retained at h years
-- (h = 1, 2) = academic activity in academic year cohorte + h, or graduated by its end; reported only
-- when that year is over at the as-of date (else NULL and seguimiento_incompleto_* is true). Each fact is
-- aggregated per student before joining; the approval rate is weighted by attempts.
CREATE OR REPLACE TABLE gold.mart_cohort_analysis AS
WITH
-- Per student: graduation year and activity 1 and 2 years after entry, from the spine. A student who
-- graduated earlier has no row for that year; the graduation test covers them.
trayectoria AS (
    SELECT a.alumno_key,
           min(a.anio_academico) FILTER (WHERE a.es_anio_egreso)                   AS anio_egreso,
           COALESCE(bool_or(e.actividad_academica) FILTER (WHERE a.anio_desde_ingreso = 1), FALSE) AS activo_1,
           COALESCE(bool_or(e.actividad_academica) FILTER (WHERE a.anio_desde_ingreso = 2), FALSE) AS activo_2
    FROM gold.mart_student_academic_summary a
    JOIN gold.mart_student_engagement e ON e.alumno_key = a.alumno_key AND e.anio_academico = a.anio_academico
    GROUP BY a.alumno_key
),
resultados AS (
    SELECT p.alumno_key,
           count(*) FILTER (WHERE p.aprobado_flag = 1)  AS aprobadas,
           count(*) FILTER (WHERE p.reprobado_flag = 1) AS reprobadas,
           count(p.nota_num)                            AS notas_numericas,
           sum(p.nota_num)                              AS suma_notas
    FROM silver.fact_academic_performance p
    WHERE p.anio_academico <= silver.anio_academico(getvariable('as_of'))
      AND (p.fecha_evaluacion IS NULL OR p.fecha_evaluacion <= getvariable('as_of'))
    GROUP BY p.alumno_key
),
-- The students of the spine (those who had entered by the as-of date), with their cohort attributes.
estudiantes AS (
    SELECT s.alumno_key, s.source_db, s.anio_ingreso AS cohorte,
           COALESCE(s.propuesta_key, 'sin dato')  AS propuesta_key,
           s.propuesta_nombre,
           COALESCE(s.facultad_key, 'sin dato')   AS facultad_key,
           s.facultad_nombre,
           COALESCE(s.sede_nombre, 'sin dato')    AS sede_nombre,
           s.tipo_sede,
           t.anio_egreso, t.activo_1, t.activo_2,
           COALESCE(r.aprobadas, 0) AS aprobadas, COALESCE(r.reprobadas, 0) AS reprobadas,
           COALESCE(r.notas_numericas, 0) AS notas_numericas, r.suma_notas
    FROM silver.dim_student s
    JOIN trayectoria t ON t.alumno_key = s.alumno_key
    LEFT JOIN resultados r ON r.alumno_key = s.alumno_key
),
por_estudiante AS (
    SELECT e.*,
           getvariable('as_of') > make_date(e.cohorte + 2, 3, 1) - 1 AS completo_1,
           getvariable('as_of') > make_date(e.cohorte + 3, 3, 1) - 1 AS completo_2,
           e.activo_1 OR COALESCE(e.anio_egreso <= e.cohorte + 1, FALSE) AS retenido_1,
           e.activo_2 OR COALESCE(e.anio_egreso <= e.cohorte + 2, FALSE) AS retenido_2
    FROM estudiantes e
),
cohortes AS (
    SELECT cohorte, source_db, propuesta_key, facultad_key, sede_nombre,
           min(propuesta_nombre)                                   AS propuesta_nombre,
           min(facultad_nombre)                                    AS facultad_nombre,
           min(tipo_sede)                                          AS tipo_sede,
           count(*)                                                AS total_estudiantes,
           bool_and(completo_1)                                    AS completo_1,
           bool_and(completo_2)                                    AS completo_2,
           count(*) FILTER (WHERE retenido_1)                      AS retenidos_1,
           count(*) FILTER (WHERE retenido_2)                      AS retenidos_2,
           count(*) FILTER (WHERE anio_egreso IS NOT NULL)         AS egresados,
           sum(aprobadas)                                          AS total_aprobadas,
           sum(reprobadas)                                         AS total_reprobadas,
           sum(notas_numericas)                                    AS notas_numericas,
           sum(suma_notas)                                         AS suma_notas
    FROM por_estudiante
    GROUP BY cohorte, source_db, propuesta_key, facultad_key, sede_nombre
)
SELECT cohorte, source_db, propuesta_key, propuesta_nombre, facultad_key, facultad_nombre, sede_nombre, tipo_sede,
       total_estudiantes,
       NOT completo_1                                                            AS seguimiento_incompleto_1_anio,
       CASE WHEN completo_1 THEN retenidos_1 END                                 AS retenidos_1_anio,
       CASE WHEN completo_1 THEN CAST(retenidos_1 AS DOUBLE) / total_estudiantes END AS tasa_retencion_1_anio,
       NOT completo_2                                                            AS seguimiento_incompleto_2_anios,
       CASE WHEN completo_2 THEN retenidos_2 END                                 AS retenidos_2_anios,
       CASE WHEN completo_2 THEN CAST(retenidos_2 AS DOUBLE) / total_estudiantes END AS tasa_retencion_2_anios,
       egresados,
       CAST(total_aprobadas AS BIGINT)                                           AS total_aprobadas,
       CAST(total_reprobadas AS BIGINT)                                          AS total_reprobadas,
       CAST(total_aprobadas AS DOUBLE) / NULLIF(total_aprobadas + total_reprobadas, 0) AS tasa_aprobacion_cohorte,
       -- Every numeric grade weighs the same (not a mean of the students' means).
       suma_notas / NULLIF(notas_numericas, 0)                                   AS promedio_notas_cohorte
FROM cohortes;
