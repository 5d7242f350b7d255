-- target:   gold.mart_intervenciones
-- grain:    alumno_key
-- upstream: silver.fact_intervencion
-- test:     not_null(intervenciones, primera_fecha, ultima_fecha, ultimo_canal, ultimo_resultado)
-- test:     expression(intervenciones >= 1 AND contactos_logrados BETWEEN 0 AND intervenciones)
-- test:     expression(primera_fecha <= ultima_fecha AND ultima_fecha <= getvariable('as_of'))
-- test:     expression(dias_desde_ultima >= 0)
-- test:     accepted_values(ultimo_canal: 'telefono', 'email', 'presencial', 'mensajeria', 'otro')
-- test:     accepted_values(ultimo_resultado: 'contactado', 'no_responde', 'derivado', 'otro')
-- Each student's intervention history as of the as-of date: one row per student with at least one
-- intervention recorded by then. The latest intervention is the one with the latest contact date (then the
-- latest recorded); it gives ultimo_canal, ultimo_resultado and proximo_seguimiento (its follow-up date:
-- a newer contact without one closes the earlier follow-up). seguimiento_vencido: that date is before the
-- as-of date.
CREATE OR REPLACE TABLE gold.mart_intervenciones AS
WITH ordenadas AS (
    SELECT f.*,
           row_number() OVER (PARTITION BY f.alumno_key
                              ORDER BY f.fecha DESC, f.registrada DESC, f.source_db DESC, f.intervencion DESC) AS orden
    FROM silver.fact_intervencion f
)
SELECT o.alumno_key,
       count(*)                                                           AS intervenciones,
       count(*) FILTER (WHERE o.resultado = 'contactado')                 AS contactos_logrados,
       min(o.fecha)                                                       AS primera_fecha,
       max(o.fecha)                                                       AS ultima_fecha,
       any_value(o.canal) FILTER (WHERE o.orden = 1)                      AS ultimo_canal,
       any_value(o.resultado) FILTER (WHERE o.orden = 1)                  AS ultimo_resultado,
       any_value(o.seguimiento) FILTER (WHERE o.orden = 1)                AS proximo_seguimiento,
       COALESCE(any_value(o.seguimiento) FILTER (WHERE o.orden = 1) < getvariable('as_of'), FALSE)
                                                                          AS seguimiento_vencido,
       CAST(getvariable('as_of') - max(o.fecha) AS INTEGER)               AS dias_desde_ultima,
       bool_or(o.alumno_conocido)                                         AS alumno_conocido
FROM ordenadas o
GROUP BY o.alumno_key
ORDER BY o.alumno_key;
