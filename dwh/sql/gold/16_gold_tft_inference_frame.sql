-- target:   gold.gold_tft_inference_frame
-- grain:    alumno_key, time_idx
-- upstream: gold.gold_tft_temporal_features, gold.gold_tft_static_features, gold.gold_tft_known_future,
--           gold.gold_tft_training_dataset, gold.gold_tft_label_sources, gold.seed_label_params,
--           silver.dim_student, silver.fact_dropout
-- test:     accepted_values(target: '0', '1')
-- test:     relationship(alumno_key -> gold.gold_tft_static_features(alumno_key))
-- Students in the risk set at the last closed semester (not away N semesters in a row, which a returner
-- active again is not; for migrated history, seen active since the records begin; the rule of
-- gold_tft_training_dataset), with their whole history, for scoring the next semesters with
-- TimeSeriesDataSet(predict=True): the row to score is each student's last row. A student holding a
-- certificate by DWH_AS_OF is not here, even while its semester is still open. Same columns as the
-- training table; target (and abandono, perdida_regularidad) is the label where decided and a placeholder
-- '0' where censored (target_observado = false), never to be read as a label. en_riesgo marks the rows
-- that were in the risk set at their own as-of date; a returner's semesters away are context only.
-- A table, not a view: the as-of date is read when gold is built (a view would read getvariable when it is
-- queried, and readers query it without the build's variables).
CREATE OR REPLACE TABLE gold.gold_tft_inference_frame AS
WITH ultimo AS (
    SELECT max(time_idx) AS t FROM gold.gold_tft_known_future WHERE cerrado
),
egresados AS (
    SELECT DISTINCT alumno_key AS alumno_key
    FROM silver.fact_dropout
    WHERE tipo_evento = 'egreso' AND COALESCE(fecha_conocido, fecha_evento) <= getvariable('as_of')
),
activos AS (
    SELECT t.alumno_key
    FROM gold.gold_tft_temporal_features t
    JOIN gold.gold_tft_static_features s ON s.alumno_key = t.alumno_key
    JOIN ultimo u ON t.time_idx = u.t
    WHERE t.alumno_key NOT IN (SELECT alumno_key FROM egresados)
      AND t.semestres_inactivo < gold.label_param('horizonte_semestres')
      AND (s.historia_migrada = '0' OR t.semestres_activos_acum > 0)
)
SELECT t.alumno_key,
       t.time_idx,
       k.anio_academico,
       t.as_of_date,
       d.label_as_of_date,
       s.* EXCLUDE (alumno_key, primer_time_idx, time_idx_ingreso, corte_ingreso),
       k.cuatrimestre,
       k.evento_calendario,
       t.* EXCLUDE (alumno_key, time_idx, as_of_date),
       gold.flag(NOT ls.egresados_disponibles) AS egresados_incompletos,
       COALESCE(d.abandono, '0') AS abandono,
       COALESCE(d.perdida_regularidad, '0') AS perdida_regularidad,
       COALESCE(d.target, '0') AS target,
       d.target IS NOT NULL AS target_observado,
       t.semestres_inactivo < gold.label_param('horizonte_semestres')
           AND (s.historia_migrada = '0' OR t.semestres_activos_acum > 0) AS en_riesgo
FROM activos a
JOIN gold.gold_tft_temporal_features t ON t.alumno_key = a.alumno_key
JOIN gold.gold_tft_static_features s ON s.alumno_key = t.alumno_key
JOIN gold.gold_tft_known_future k ON k.time_idx = t.time_idx
JOIN silver.dim_student ds ON ds.alumno_key = t.alumno_key
JOIN gold.gold_tft_label_sources ls ON ls.source_db = ds.source_db
LEFT JOIN gold.gold_tft_training_dataset d ON d.alumno_key = t.alumno_key AND d.time_idx = t.time_idx;
