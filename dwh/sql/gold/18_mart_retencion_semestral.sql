-- target:   gold.mart_retencion_semestral
-- grain:    cohorte, fuente, propuesta, sede, semestres_desde_ingreso
-- upstream: gold.gold_tft_static_features, gold.gold_tft_temporal_features, gold.gold_tft_known_future
-- test:     not_null(estudiantes, activos, tasa_activos, completo)
-- test:     expression(activos BETWEEN 0 AND estudiantes AND estudiantes > 0)
-- test:     expression(tasa_activos BETWEEN 0 AND 1 AND semestres_desde_ingreso >= 0)
-- Retention curves: for each cohort (academic year of entry), source, program and site, how many of its
-- students are still active k semesters after entry (k = 0 is the entry semester). Still active at k:
-- academic activity in semester k (the spine's `activo`), or graduated before it: a graduate's spine ends
-- at the semester their graduation became known, so a spine that ends before its source's last semester
-- ended by graduation. Only students whose spine starts at their entry semester count (a history migrated
-- from an older system has no early semesters to count). completo is FALSE while semester k can still gain
-- records: its as-of date has passed but not its closing date (late actas).
CREATE OR REPLACE TABLE gold.mart_retencion_semestral AS
WITH tramos AS (
    SELECT alumno_key, min(time_idx) AS primero, max(time_idx) AS ultimo
    FROM gold.gold_tft_temporal_features
    GROUP BY alumno_key
),
alumnos AS (
    SELECT s.alumno_key, s.cohorte, s.fuente, s.propuesta, s.sede, s.time_idx_ingreso, t.primero, t.ultimo,
           max(t.ultimo) OVER (PARTITION BY s.fuente) AS ultimo_fuente
    FROM gold.gold_tft_static_features s
    JOIN tramos t USING (alumno_key)
),
celdas AS (
    SELECT a.cohorte, a.fuente, a.propuesta, a.sede,
           k.time_idx - a.time_idx_ingreso AS semestres_desde_ingreso,
           k.cerrado,
           COALESCE(f.activo = '1', FALSE) OR a.ultimo < k.time_idx AS sigue
    FROM alumnos a
    JOIN gold.gold_tft_known_future k ON k.time_idx BETWEEN a.time_idx_ingreso AND a.ultimo_fuente
    LEFT JOIN gold.gold_tft_temporal_features f ON f.alumno_key = a.alumno_key AND f.time_idx = k.time_idx
    WHERE a.primero = a.time_idx_ingreso
)
SELECT cohorte, fuente, propuesta, sede,
       CAST(semestres_desde_ingreso AS INTEGER)                 AS semestres_desde_ingreso,
       CAST(count(*) AS BIGINT)                                 AS estudiantes,
       CAST(count(*) FILTER (WHERE sigue) AS BIGINT)            AS activos,
       count(*) FILTER (WHERE sigue) / count(*)                 AS tasa_activos,
       bool_and(cerrado)                                        AS completo
FROM celdas
GROUP BY ALL;
