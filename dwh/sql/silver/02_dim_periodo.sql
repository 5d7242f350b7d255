-- target:   silver.dim_periodo
-- grain:    anio_academico
-- upstream: bronze.academic, bronze.course_inscriptions, bronze.exam_inscriptions, bronze.historia_academica,
--           bronze.reinscripciones, bronze.perdida_regularidades, bronze.attendance, bronze.students,
--           silver.seed_settings
-- test:     expression(fecha_fin = make_date(anio_academico + 1, 3, 1) - 1)
-- Academic years with any event, from March 1 to the last day of February (29th in leap years);
-- anio_relativo counts from a configured origin year (seed_settings.anio_relativo_origen).
CREATE OR REPLACE TABLE silver.dim_periodo AS
WITH years AS (
    SELECT anio_academico AS y FROM bronze.academic
    UNION SELECT anio_academico FROM bronze.course_inscriptions
    UNION SELECT silver.anio_academico(fecha_mesa_examen) FROM bronze.exam_inscriptions
    UNION SELECT COALESCE(anio_academico, silver.anio_academico(fecha)) FROM bronze.historia_academica
    UNION SELECT anio_academico FROM bronze.reinscripciones
    UNION SELECT anio_academico FROM bronze.perdida_regularidades
    UNION SELECT anio_academico FROM bronze.attendance
    UNION SELECT COALESCE(anio_ingreso, silver.anio_academico(fecha_ingreso)) FROM bronze.students
    UNION SELECT silver.anio_academico(getvariable('as_of'))
)
SELECT CAST(y AS INTEGER)                                            AS anio_academico,
       make_date(CAST(y AS INTEGER), 3, 1)                           AS fecha_inicio,
       make_date(CAST(y AS INTEGER) + 1, 3, 1) - 1                   AS fecha_fin,
       CAST(y AS VARCHAR) || '-' || CAST(y + 1 AS VARCHAR)           AS periodo_label,
       CAST(y - CAST(silver.setting('anio_relativo_origen') AS INTEGER) AS INTEGER) AS anio_relativo
FROM years
WHERE y IS NOT NULL;
