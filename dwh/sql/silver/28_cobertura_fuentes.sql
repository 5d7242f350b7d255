-- target:   silver.cobertura_fuentes
-- grain:    source_db
-- upstream: silver.dim_student, silver.fact_course_enrollment, silver.fact_exam_inscription,
--           silver.fact_academic_performance, bronze._dwh_load_log
-- test:     expression(detalle_desde IS NULL OR detalle_desde_cuatrimestre IN (1, 2))
-- What each Guaraní source holds, from its data: the first day of its detailed academic records (course
-- periods, exams and final results; a source migrated from an older system often starts them years after
-- its oldest cohorts) and its semester, and whether its graduates (certificates) table could be read the
-- last time bronze tried (a deployment without it is 'skipped' in bronze._dwh_load_log).
CREATE OR REPLACE TABLE silver.cobertura_fuentes AS
WITH fuentes AS (
    SELECT DISTINCT source_db FROM silver.dim_student
),
detalle AS (
    SELECT source_db, min(dia) AS detalle_desde
    FROM (
        SELECT source_db, COALESCE(periodo_inicio, CAST(fecha_inscripcion AS DATE)) AS dia
        FROM silver.fact_course_enrollment
        UNION ALL SELECT source_db, fecha_mesa_examen FROM silver.fact_exam_inscription
        UNION ALL SELECT source_db, fecha_evaluacion FROM silver.fact_academic_performance
    )
    GROUP BY ALL
),
egresados AS (
    SELECT source_db, arg_max(status, started_at) AS estado
    FROM bronze._dwh_load_log
    WHERE table_name = 'graduates' AND status IN ('loaded', 'fallback', 'skipped')
    GROUP BY ALL
)
SELECT f.source_db,
       d.detalle_desde,
       CAST(silver.anio_academico(d.detalle_desde) AS INTEGER)     AS detalle_desde_anio,
       CAST(silver.cuatrimestre(d.detalle_desde) AS INTEGER)       AS detalle_desde_cuatrimestre,
       COALESCE(e.estado, 'sin registro')                          AS egresados_estado,
       e.estado IS DISTINCT FROM 'skipped'                         AS egresados_disponibles
FROM fuentes f
LEFT JOIN detalle d USING (source_db)
LEFT JOIN egresados e USING (source_db);
