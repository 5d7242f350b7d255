-- target:   gold.gold_tft_training_dataset
-- grain:    alumno_key, time_idx
-- upstream: gold.gold_tft_temporal_features, gold.gold_tft_static_features, gold.gold_tft_known_future,
--           gold.seed_label_params, silver.fact_dropout
-- test:     accepted_values(target: '0', '1')
-- test:     not_null(target, label_as_of_date, as_of_date)
-- test:     expression(label_as_of_date > as_of_date AND label_as_of_date <= getvariable('as_of'))
-- test:     relationship(alumno_key -> gold.gold_tft_static_features(alumno_key))
-- The labelled risk set, one row per (student, semester t), ready for pytorch-forecasting's
-- TimeSeriesDataSet (group alumno_key, time_idx consecutive per student; roles in gold_tft_feature_roles).
-- Label (parameters in seed_label_params): target '1' when the student, not graduated within the next
-- N semesters, has no academic activity in them (an inscription, a result or a reinscription), or loses
-- regularity in them without a reincorporation within them; else '0'.
-- Risk set, decided only from the past: a row is in it while the student has not graduated and has not
-- yet been away N semesters in a row by its as_of_date; the row where that becomes known and every later
-- row are dropped (so a dropout's last rows are its terminal rows). A row whose N semesters are not all
-- closed at the as-of date is censored, not negative: it is left out (see gold_tft_inference_frame).
-- label_as_of_date (when the label became known) is metadata, never a feature.
CREATE OR REPLACE TABLE gold.gold_tft_training_dataset AS
WITH params AS (
    SELECT gold.label_param('horizonte_semestres') AS n,
           gold.label_param('perdida_regularidad_es_abandono') = 1 AS con_perdida,
           (SELECT max(time_idx) FROM gold.gold_tft_known_future WHERE cerrado) AS ultimo_cerrado
),
egreso AS (
    SELECT e.student_key AS alumno_key, min(k.time_idx) AS time_idx_egreso
    FROM silver.fact_dropout e
    ASOF JOIN gold.gold_tft_known_future k ON e.fecha_evento <= k.as_of_date
    WHERE e.tipo_evento = 'egreso'
    GROUP BY ALL
),
filas AS (
    SELECT t.alumno_key, t.time_idx, t.activo, t.perdio_regularidad,
           t.reincorporaciones_acum - COALESCE(lag(t.reincorporaciones_acum) OVER (
               PARTITION BY t.alumno_key ORDER BY t.time_idx), 0) > 0 AS reincorporo
    FROM gold.gold_tft_temporal_features t
),
ventana AS (
    SELECT t.alumno_key, t.time_idx,
           bool_or(f.activo = '1') AS hubo_actividad,
           max(CASE WHEN f.perdio_regularidad = '1' THEN f.time_idx END) AS ultima_perdida,
           max(CASE WHEN f.reincorporo THEN f.time_idx END) AS ultima_reincorporacion
    FROM filas t
    CROSS JOIN params p
    LEFT JOIN filas f
      ON f.alumno_key = t.alumno_key AND f.time_idx > t.time_idx AND f.time_idx <= t.time_idx + p.n
    GROUP BY ALL
),
etiquetas AS (
    SELECT v.alumno_key, v.time_idx,
           CASE
               WHEN g.time_idx_egreso IS NOT NULL AND g.time_idx_egreso <= v.time_idx + p.n THEN '0'
               WHEN NOT COALESCE(v.hubo_actividad, FALSE) THEN '1'
               WHEN p.con_perdida AND v.ultima_perdida IS NOT NULL
                    AND (v.ultima_reincorporacion IS NULL OR v.ultima_reincorporacion < v.ultima_perdida) THEN '1'
               ELSE '0'
           END AS target,
           v.time_idx + p.n AS time_idx_etiqueta
    FROM ventana v
    CROSS JOIN params p
    LEFT JOIN egreso g ON g.alumno_key = v.alumno_key
    -- not graduated by this semester's as-of date
    WHERE g.time_idx_egreso IS NULL OR v.time_idx < g.time_idx_egreso
),
fuera_de_riesgo AS (
    -- the first semester at whose as-of date the student has been away N semesters in a row
    SELECT t.alumno_key, min(t.time_idx) AS desde
    FROM gold.gold_tft_temporal_features t
    CROSS JOIN params p
    WHERE t.semestres_inactivo >= p.n
    GROUP BY ALL
)
SELECT t.alumno_key,
       t.time_idx,
       k.anio_academico,
       t.as_of_date,
       l.as_of_date AS label_as_of_date,
       s.* EXCLUDE (alumno_key, primer_time_idx, corte_ingreso),
       k.cuatrimestre,
       k.evento_calendario,
       t.* EXCLUDE (alumno_key, time_idx, as_of_date),
       e.target
FROM etiquetas e
CROSS JOIN params p
JOIN gold.gold_tft_known_future l ON l.time_idx = e.time_idx_etiqueta AND e.time_idx_etiqueta <= p.ultimo_cerrado
JOIN gold.gold_tft_temporal_features t ON t.alumno_key = e.alumno_key AND t.time_idx = e.time_idx
JOIN gold.gold_tft_static_features s ON s.alumno_key = e.alumno_key
JOIN gold.gold_tft_known_future k ON k.time_idx = e.time_idx
LEFT JOIN fuera_de_riesgo f ON f.alumno_key = e.alumno_key
WHERE f.desde IS NULL OR e.time_idx < f.desde
ORDER BY t.alumno_key, t.time_idx;
