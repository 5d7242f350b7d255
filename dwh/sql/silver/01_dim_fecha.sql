-- target:   silver.dim_fecha
-- grain:    fecha
-- upstream: bronze.course_inscriptions, bronze.exam_inscriptions, bronze.historia_academica,
--           bronze.reinscripciones, bronze.perdida_regularidades, bronze.students
-- test:     row_count(>= 1)
-- A daily calendar covering the data's dates (whole calendar years) and the as-of date, in Spanish.
CREATE OR REPLACE TABLE silver.dim_fecha AS
WITH event_dates AS (
    SELECT CAST(fecha_inscripcion AS DATE) AS d FROM bronze.course_inscriptions
    UNION ALL SELECT fecha_mesa_examen FROM bronze.exam_inscriptions
    UNION ALL SELECT fecha FROM bronze.historia_academica
    UNION ALL SELECT CAST(fecha_reinscripcion AS DATE) FROM bronze.reinscripciones
    UNION ALL SELECT fecha FROM bronze.perdida_regularidades
    UNION ALL SELECT fecha_ingreso FROM bronze.students
    UNION ALL SELECT getvariable('as_of')
),
bounds AS (
    SELECT make_date(year(min(d)), 1, 1) AS desde, make_date(year(max(d)), 12, 31) AS hasta
    FROM event_dates WHERE d IS NOT NULL
),
days AS (
    SELECT CAST(unnest(generate_series(desde, hasta, INTERVAL 1 DAY)) AS DATE) AS fecha FROM bounds
)
SELECT fecha,
       year(fecha)                                      AS anio,
       month(fecha)                                     AS mes,
       day(fecha)                                       AS dia,
       quarter(fecha)                                   AS trimestre,
       weekofyear(fecha)                                AS semana,
       dayofweek(fecha)                                 AS dia_semana,
       ['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'][dayofweek(fecha) + 1]
                                                        AS dia_nombre,
       ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre',
        'noviembre', 'diciembre'][month(fecha)]         AS mes_nombre,
       silver.anio_academico(fecha)                     AS anio_academico,
       silver.cuatrimestre(fecha)                       AS cuatrimestre,
       dayofweek(fecha) IN (0, 6)                       AS es_fin_semana,
       day(fecha) = 1                                   AS es_primer_dia_mes,
       fecha = last_day(fecha)                          AS es_ultimo_dia_mes
FROM days;
