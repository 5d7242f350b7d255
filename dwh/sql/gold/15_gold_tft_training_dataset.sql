-- target:   gold.gold_tft_training_dataset
-- grain:    alumno_key, time_idx
-- upstream: gold.gold_tft_temporal_features, gold.gold_tft_static_features, gold.gold_tft_known_future,
--           gold.gold_tft_label_sources, gold.seed_label_params, silver.dim_student,
--           silver.fact_course_enrollment, silver.fact_exam_inscription, silver.fact_academic_performance,
--           silver.fact_reinscription, silver.fact_dropout
-- test:     accepted_values(target: '0', '1')
-- test:     accepted_values(abandono: '0', '1')
-- test:     accepted_values(perdida_regularidad: '0', '1')
-- test:     not_null(target, abandono, perdida_regularidad, egresados_incompletos, label_as_of_date, as_of_date)
-- test:     expression(target = '1' OR (abandono = '0' AND perdida_regularidad = '0') OR gold.label_param('perdida_regularidad_es_abandono') = 0)
-- test:     expression(label_as_of_date > as_of_date AND label_as_of_date <= getvariable('as_of'))
-- test:     relationship(alumno_key -> gold.gold_tft_static_features(alumno_key))
-- The labelled risk set, one row per (student, semester t), ready for pytorch-forecasting's
-- TimeSeriesDataSet (group alumno_key, time_idx per student; roles in gold_tft_feature_roles).
-- Labels (parameters in seed_label_params, N = horizonte_semestres), about semesters t+1 .. t+N, each fact
-- counted in the academic semester it belongs to (the February-March exam turn closes cuatrimestre 2) and
-- only if Guaraní knew it by label_as_of_date, the fecha_cierre of semester t+N (so a label never changes
-- once decided):
--   abandono = '1': no academic activity in them: no course or exam inscription, no course or final
--     result other than an absence (an acta that only records an absence is a passive record), no
--     reinscription;
--   perdida_regularidad = '1': a formal loss of regularity in them not followed by a reincorporation in
--     them;
--   both '0' when the student graduated by semester t+N (the graduation counts from its last exam's
--   semester, once its certificate is known); target = abandono OR perdida_regularidad (the latter only
--   with perdida_regularidad_es_abandono = 1).
-- Risk set, decided only from the past: a row is in it while the student has not graduated by semester t,
-- has not been away N semesters in a row by its as_of_date (a returner comes back into it when active
-- again), and, for history migrated from an older system, has been seen active since the records begin.
-- A row whose label is not decided by DWH_AS_OF is censored, not negative: it is left out (see
-- gold_tft_inference_frame). label_as_of_date (when the label was decided) is metadata, never a feature;
-- egresados_incompletos = '1' marks the rows of a source without its graduates table, accepted through
-- seed_label_params.aceptar_sin_egresados (its graduates may be counted as dropouts).
CREATE OR REPLACE TABLE gold.gold_tft_training_dataset AS
WITH params AS (
    SELECT gold.label_param('horizonte_semestres') AS n,
           gold.label_param('perdida_regularidad_es_abandono') = 1 AS con_perdida
),
-- academic activity: the semester it belongs to and the day Guaraní knew it
actividad AS (
    SELECT alumno_key, gold.semestre_idx(anio_academico, cuatrimestre) AS semestre,
           CAST(fecha_inscripcion AS DATE) AS conocido
    FROM silver.fact_course_enrollment
    UNION ALL
    SELECT alumno_key,
           gold.semestre_idx(silver.anio_academico(fecha_resultado), silver.cuatrimestre(fecha_resultado)),
           COALESCE(fecha_conocido_resultado, fecha_resultado)
    FROM silver.fact_course_enrollment
    WHERE fecha_resultado IS NOT NULL AND ausente_flag = 0
    UNION ALL
    SELECT alumno_key, gold.semestre_idx(anio_academico, cuatrimestre), CAST(fecha_inscripcion AS DATE)
    FROM silver.fact_exam_inscription
    WHERE anio_academico IS NOT NULL
    UNION ALL
    SELECT alumno_key,
           gold.semestre_idx(silver.anio_academico(fecha_evaluacion), silver.cuatrimestre(fecha_evaluacion)),
           COALESCE(fecha_conocido, fecha_evaluacion)
    FROM silver.fact_academic_performance
    WHERE fecha_evaluacion IS NOT NULL AND ausente_flag = 0
    UNION ALL
    -- a reinscription for year Y is the decision to go on into Y's first cuatrimestre
    SELECT alumno_key, gold.semestre_idx(anio_academico, 1), CAST(fecha_reinscripcion AS DATE)
    FROM silver.fact_reinscription
    WHERE anio_academico IS NOT NULL
),
eventos AS (
    SELECT alumno_key, tipo_evento, fecha_evento,
           gold.semestre_idx(silver.anio_academico(fecha_evento), silver.cuatrimestre(fecha_evento)) AS semestre,
           COALESCE(fecha_conocido, fecha_evento) AS conocido
    FROM silver.fact_dropout
    WHERE tipo_evento IN ('perdida_regularidad', 'reincorporacion', 'egreso') AND fecha_evento IS NOT NULL
),
filas AS (
    SELECT t.alumno_key, t.time_idx, l.fecha_cierre AS label_as_of_date, t.time_idx + p.n AS hasta
    FROM gold.gold_tft_temporal_features t
    JOIN gold.gold_tft_static_features s ON s.alumno_key = t.alumno_key
    CROSS JOIN params p
    JOIN gold.gold_tft_known_future l ON l.time_idx = t.time_idx + p.n
    WHERE l.fecha_cierre <= getvariable('as_of')
      AND t.semestres_inactivo < p.n
      AND (s.historia_migrada = '0' OR t.semestres_activos_acum > 0)
),
con_actividad AS (
    SELECT f.alumno_key, f.time_idx, count(a.semestre) > 0 AS hubo_actividad
    FROM filas f
    LEFT JOIN actividad a
      ON a.alumno_key = f.alumno_key AND a.semestre > f.time_idx AND a.semestre <= f.hasta
     AND a.conocido <= f.label_as_of_date
    GROUP BY ALL
),
egresos AS (
    -- the earliest graduation known by the label's day, at its last exam's semester
    SELECT f.alumno_key, f.time_idx, min(e.semestre) AS semestre_egreso
    FROM filas f
    JOIN eventos e ON e.alumno_key = f.alumno_key AND e.tipo_evento = 'egreso' AND e.conocido <= f.label_as_of_date
    GROUP BY ALL
),
perdidas AS (
    -- losses in the window with no reincorporation after them in it
    SELECT f.alumno_key, f.time_idx,
           bool_or(NOT EXISTS (
               SELECT 1 FROM eventos r
               WHERE r.alumno_key = f.alumno_key AND r.tipo_evento = 'reincorporacion'
                 AND r.fecha_evento >= p.fecha_evento AND r.semestre <= f.hasta
                 AND r.conocido <= f.label_as_of_date)) AS perdida_sin_reincorporacion
    FROM filas f
    JOIN eventos p
      ON p.alumno_key = f.alumno_key AND p.tipo_evento = 'perdida_regularidad'
     AND p.semestre > f.time_idx AND p.semestre <= f.hasta AND p.conocido <= f.label_as_of_date
    GROUP BY ALL
),
etiquetas AS (
    SELECT f.alumno_key, f.time_idx, f.label_as_of_date,
           COALESCE(g.semestre_egreso <= f.hasta, FALSE) AS egresa,
           NOT a.hubo_actividad AS sin_actividad,
           COALESCE(pe.perdida_sin_reincorporacion, FALSE) AS perdida
    FROM filas f
    JOIN con_actividad a USING (alumno_key, time_idx)
    LEFT JOIN egresos g USING (alumno_key, time_idx)
    LEFT JOIN perdidas pe USING (alumno_key, time_idx)
    -- not graduated by this semester
    WHERE g.semestre_egreso IS NULL OR f.time_idx < g.semestre_egreso
)
SELECT t.alumno_key,
       t.time_idx,
       k.anio_academico,
       t.as_of_date,
       e.label_as_of_date,
       s.* EXCLUDE (alumno_key, primer_time_idx, time_idx_ingreso, corte_ingreso),
       k.cuatrimestre,
       k.evento_calendario,
       t.* EXCLUDE (alumno_key, time_idx, as_of_date),
       gold.flag(NOT ls.egresados_disponibles)                             AS egresados_incompletos,
       gold.flag(NOT e.egresa AND e.sin_actividad)                          AS abandono,
       gold.flag(NOT e.egresa AND e.perdida)                                AS perdida_regularidad,
       gold.flag(NOT e.egresa AND (e.sin_actividad OR (p.con_perdida AND e.perdida))) AS target
FROM etiquetas e
CROSS JOIN params p
JOIN gold.gold_tft_temporal_features t ON t.alumno_key = e.alumno_key AND t.time_idx = e.time_idx
JOIN gold.gold_tft_static_features s ON s.alumno_key = e.alumno_key
JOIN gold.gold_tft_known_future k ON k.time_idx = e.time_idx
JOIN silver.dim_student d ON d.alumno_key = e.alumno_key
JOIN gold.gold_tft_label_sources ls ON ls.source_db = d.source_db
ORDER BY t.alumno_key, t.time_idx;
