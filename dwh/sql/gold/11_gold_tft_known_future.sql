-- target:   gold.gold_tft_known_future
-- grain:    time_idx
-- upstream: silver.dim_student, silver.dim_periodo, gold.seed_semester_calendar, gold.seed_calendar_events
-- test:     unique(anio_academico, cuatrimestre)
-- test:     expression(ventana_desde IS NULL OR ventana_desde < as_of_date)
-- test:     expression(as_of_date >= fecha_inicio)
-- test:     expression(fecha_cierre > as_of_date)
-- test:     expression(time_idx = (SELECT min(time_idx) FROM gold.gold_tft_known_future) OR time_idx - 1 IN (SELECT time_idx FROM gold.gold_tft_known_future))
-- One row per cuatrimestre from the oldest cohort to the one after the as-of date. as_of_date is the
-- day the semester's features are frozen (seed_semester_calendar: by default 31 July and 31 December,
-- after the exam turns): a fact known in Guaraní in (ventana_desde, as_of_date] counts in this semester's
-- row. fecha_cierre is the day the semester's own activity is all known (by default 31 August and 31
-- March, after the February-March turn of the second cuatrimestre and its actas): labels about this
-- semester are decided then. cerrado = the as-of date has passed. evento_calendario comes from
-- seed_calendar_events.
CREATE OR REPLACE TABLE gold.gold_tft_known_future AS
WITH bounds AS (
    SELECT LEAST(
               COALESCE((SELECT min(anio_ingreso) FROM silver.dim_student), 9999),
               COALESCE((SELECT min(anio_academico) FROM silver.dim_periodo), 9999),
               silver.anio_academico(getvariable('as_of'))
           ) AS y0,
           silver.anio_academico(getvariable('as_of')) + 1 AS y1
),
semestres AS (
    SELECT CAST(y.anio AS INTEGER) AS anio_academico,
           CAST(c.cuatrimestre AS INTEGER) AS cuatrimestre,
           CAST(c.as_of_mes AS INTEGER) AS mes,
           CAST(c.as_of_dia AS INTEGER) AS dia,
           CAST(c.cierre_mes AS INTEGER) AS cierre_mes,
           CAST(c.cierre_dia AS INTEGER) AS cierre_dia
    FROM (SELECT unnest(generate_series(y0, y1)) AS anio FROM bounds) AS y
    CROSS JOIN gold.seed_semester_calendar c
),
fechas AS (
    SELECT anio_academico, cuatrimestre,
           CASE cuatrimestre WHEN 1 THEN make_date(anio_academico, 3, 1)
                             ELSE make_date(anio_academico, 8, 1) END AS fecha_inicio,
           CASE cuatrimestre WHEN 1 THEN make_date(anio_academico, 7, 31)
                             ELSE make_date(anio_academico + 1, 3, 1) - 1 END AS fecha_fin,
           -- January and February belong to the academic year that started the previous March.
           make_date(CASE WHEN mes < 3 THEN anio_academico + 1 ELSE anio_academico END, mes, dia) AS as_of_date,
           cierre_mes, cierre_dia
    FROM semestres
),
con_cierre AS (
    -- the first such day after the as-of date
    SELECT *,
           CASE WHEN make_date(year(as_of_date), cierre_mes, cierre_dia) > as_of_date
                THEN make_date(year(as_of_date), cierre_mes, cierre_dia)
                ELSE make_date(year(as_of_date) + 1, cierre_mes, cierre_dia) END AS fecha_cierre
    FROM fechas
),
eventos AS (
    SELECT CAST(anio_academico AS INTEGER) AS anio_academico, CAST(cuatrimestre AS INTEGER) AS cuatrimestre,
           string_agg(DISTINCT evento, '+' ORDER BY evento) AS evento_calendario
    FROM gold.seed_calendar_events
    GROUP BY ALL
)
SELECT gold.semestre_idx(f.anio_academico, f.cuatrimestre) AS time_idx,
       f.anio_academico,
       CAST(f.cuatrimestre AS VARCHAR) AS cuatrimestre,
       f.fecha_inicio,
       f.fecha_fin,
       lag(f.as_of_date) OVER (ORDER BY f.anio_academico, f.cuatrimestre) AS ventana_desde,
       f.as_of_date,
       f.fecha_cierre,
       f.as_of_date <= getvariable('as_of') AS cerrado,
       COALESCE(e.evento_calendario, 'ninguno') AS evento_calendario
FROM con_cierre f
LEFT JOIN eventos e USING (anio_academico, cuatrimestre)
ORDER BY time_idx;
