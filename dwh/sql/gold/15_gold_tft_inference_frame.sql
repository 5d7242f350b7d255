-- target:   gold.gold_tft_inference_frame
-- grain:    alumno_key, time_idx
-- upstream: gold.gold_tft_temporal_features, gold.gold_tft_static_features, gold.gold_tft_known_future,
--           gold.gold_tft_training_dataset, gold.seed_label_params, silver.fact_dropout
-- test:     accepted_values(target: '0', '1')
-- test:     relationship(alumno_key -> gold.gold_tft_static_features(alumno_key))
-- Students in the risk set at the last closed semester (not graduated, not away N semesters in a row:
-- the rule of gold_tft_training_dataset), with their whole
-- history, for scoring the next semesters with TimeSeriesDataSet(predict=True): the row to score is each
-- student's last row. Same columns as the training table; target is the label where it is known and a
-- placeholder '0' where it is censored (target_observado = false), never to be read as a label.
CREATE OR REPLACE VIEW gold.gold_tft_inference_frame AS
WITH ultimo AS (
    SELECT max(time_idx) AS t FROM gold.gold_tft_known_future WHERE cerrado
),
egresados AS (
    SELECT DISTINCT e.student_key AS alumno_key
    FROM silver.fact_dropout e
    ASOF JOIN gold.gold_tft_known_future k ON e.fecha_evento <= k.as_of_date
    WHERE e.tipo_evento = 'egreso' AND k.cerrado
),
activos AS (
    SELECT t.alumno_key
    FROM gold.gold_tft_temporal_features t
    JOIN ultimo u ON t.time_idx = u.t
    WHERE t.alumno_key NOT IN (SELECT alumno_key FROM egresados)
      AND t.alumno_key NOT IN (SELECT alumno_key FROM gold.gold_tft_temporal_features
                               WHERE semestres_inactivo >= gold.label_param('horizonte_semestres'))
)
SELECT t.alumno_key,
       t.time_idx,
       k.anio_academico,
       t.as_of_date,
       d.label_as_of_date,
       s.* EXCLUDE (alumno_key, primer_time_idx, corte_ingreso),
       k.cuatrimestre,
       k.evento_calendario,
       t.* EXCLUDE (alumno_key, time_idx, as_of_date),
       COALESCE(d.target, '0') AS target,
       d.target IS NOT NULL AS target_observado
FROM activos a
JOIN gold.gold_tft_temporal_features t ON t.alumno_key = a.alumno_key
JOIN gold.gold_tft_static_features s ON s.alumno_key = t.alumno_key
JOIN gold.gold_tft_known_future k ON k.time_idx = t.time_idx
LEFT JOIN gold.gold_tft_training_dataset d ON d.alumno_key = t.alumno_key AND d.time_idx = t.time_idx;
