-- target:   gold.riesgo_actual
-- grain:    alumno_key, anio_academico
-- upstream: gold.mart_student_risk_features, gold.mart_student_academic_summary, gold.gold_tft_static_features,
--           gold.gold_tft_known_future, gold.gold_tft_inference_frame, silver.seed_settings
-- test:     not_null(fuente, propuesta, sede, puntaje, nivel)
-- test:     accepted_values(fuente: 'modelo', 'heurística')
-- test:     accepted_values(nivel: 'alto', 'medio', 'bajo')
-- test:     unique(alumno_key, CASE WHEN fuente = 'modelo' THEN 0 ELSE anio_academico END)
-- test:     expression(CASE fuente WHEN 'modelo' THEN puntaje BETWEEN 0 AND 1 ELSE puntaje BETWEEN 0 AND 11 END)
-- test:     expression(fuente = 'modelo' OR (razones IS NULL AND time_idx IS NULL))
-- test:     expression((SELECT count(DISTINCT fuente) FROM gold.riesgo_actual) = 1)
-- The students at risk now, as the dashboard's risk list and the tutors' list show them, and which score
-- says so (fuente). When ml.predicciones has a prediction (python -m dwh.ml predict writes it after gold is
-- built; it is published with the next run): each student's latest prediction (by scored_at), for the
-- students still in the risk set (gold_tft_inference_frame), one row per student; puntaje is the calibrated
-- probability, nivel 'alto' >= 0.5, 'medio' >= 0.2, else 'bajo'; razones the model's top three reasons with
-- their signed weights ('+' raises the risk). Otherwise the heuristic: one row per student and academic year
-- with academic activity in which the student did not graduate; puntaje is risk_score_heuristic (0-11, a
-- fixed rule, not a probability), nivel 'alto' >= 6, 'medio' >= 3, else 'bajo'; readers pick the year.
-- A missing program or site is 'sin dato' (the TFT's 'DESCONOCIDO' included), as in every dashboard view.
-- A view: it reads ml.predicciones when queried (the published copy holds it as a table). Gold creates
-- ml.predicciones empty, with dwh/ml/predict.py's PREDICTION_COLUMNS, before predict ever ran; a table an
-- older predict wrote lacks the reasons, which BY NAME reads as NULL (predict migrates it on its next run).
CREATE SCHEMA IF NOT EXISTS ml;

CREATE TABLE IF NOT EXISTS ml.predicciones (
    alumno_key         VARCHAR,
    time_idx           INTEGER,
    probabilidad       DOUBLE,
    modelo             VARCHAR,
    run_id             VARCHAR,
    scored_at          TIMESTAMPTZ,
    horizonte          INTEGER,
    probabilidad_cruda DOUBLE,
    razon_1            VARCHAR,
    peso_1             DOUBLE,
    razon_2            VARCHAR,
    peso_2             DOUBLE,
    razon_3            VARCHAR,
    peso_3             DOUBLE
);

CREATE OR REPLACE VIEW gold.riesgo_actual AS
WITH predicciones AS (
    SELECT alumno_key, time_idx, probabilidad, scored_at, razon_1, peso_1, razon_2, peso_2, razon_3, peso_3
    FROM (
        SELECT NULL::VARCHAR AS alumno_key, NULL::INTEGER AS time_idx, NULL::DOUBLE AS probabilidad,
               NULL::TIMESTAMPTZ AS scored_at, NULL::VARCHAR AS razon_1, NULL::DOUBLE AS peso_1,
               NULL::VARCHAR AS razon_2, NULL::DOUBLE AS peso_2, NULL::VARCHAR AS razon_3, NULL::DOUBLE AS peso_3
        WHERE FALSE
        UNION ALL BY NAME
        SELECT * FROM ml.predicciones
    )
    WHERE probabilidad IS NOT NULL
),
usa_modelo AS (
    SELECT count(*) > 0 AS si FROM predicciones
),
ultima AS (
    SELECT *
    FROM predicciones
    WHERE NOT isnan(probabilidad)
    QUALIFY row_number() OVER (PARTITION BY alumno_key
                               ORDER BY scored_at DESC NULLS LAST, time_idx DESC NULLS LAST) = 1
),
estatico AS (
    SELECT alumno_key,
           TRY_CAST(cohorte AS INTEGER) AS cohorte,
           CASE WHEN NULLIF(trim(CAST(propuesta AS VARCHAR)), '') IS NULL
                  OR trim(CAST(propuesta AS VARCHAR)) = 'DESCONOCIDO' THEN 'sin dato'
                ELSE trim(CAST(propuesta AS VARCHAR)) END AS propuesta,
           CASE WHEN NULLIF(trim(CAST(sede AS VARCHAR)), '') IS NULL
                  OR trim(CAST(sede AS VARCHAR)) = 'DESCONOCIDO' THEN 'sin dato'
                ELSE trim(CAST(sede AS VARCHAR)) END AS sede
    FROM gold.gold_tft_static_features
),
-- a semester's academic year; a prediction for a semester past the calendar still has one (the index's rule)
origen AS (
    SELECT CAST(value AS INTEGER) AS anio FROM silver.seed_settings WHERE name = 'anio_relativo_origen'
),
modelo AS (
    SELECT u.alumno_key                                                      AS alumno_key,
           'modelo'                                                          AS fuente,
           s.cohorte,
           COALESCE(s.propuesta, 'sin dato')                                 AS propuesta,
           COALESCE(s.sede, 'sin dato')                                      AS sede,
           CAST(u.probabilidad AS DOUBLE)                                    AS puntaje,
           CASE WHEN u.probabilidad >= 0.5 THEN 'alto'
                WHEN u.probabilidad >= 0.2 THEN 'medio' ELSE 'bajo' END      AS nivel,
           NULLIF(concat_ws('; ', CASE WHEN u.razon_1 IS NOT NULL THEN u.razon_1 || ' ('
                                       || CASE WHEN u.peso_1 >= 0 THEN '+' ELSE '−' END
                                       || printf('%.2f', abs(u.peso_1)) || ')' END,
                                  CASE WHEN u.razon_2 IS NOT NULL THEN u.razon_2 || ' ('
                                       || CASE WHEN u.peso_2 >= 0 THEN '+' ELSE '−' END
                                       || printf('%.2f', abs(u.peso_2)) || ')' END,
                                  CASE WHEN u.razon_3 IS NOT NULL THEN u.razon_3 || ' ('
                                       || CASE WHEN u.peso_3 >= 0 THEN '+' ELSE '−' END
                                       || printf('%.2f', abs(u.peso_3)) || ')' END), '')
                                                                             AS razones,
           CAST(COALESCE(k.anio_academico, (SELECT anio FROM origen) + u.time_idx // 2) AS INTEGER)
                                                                             AS anio_academico,
           CAST(u.time_idx AS INTEGER)                                       AS time_idx
    FROM ultima u
    LEFT JOIN estatico s ON s.alumno_key = u.alumno_key
    LEFT JOIN gold.gold_tft_known_future k ON k.time_idx = u.time_idx
    WHERE u.alumno_key IN (SELECT alumno_key FROM gold.gold_tft_inference_frame)
),
-- students active in the year (an inscription, a result or a reinscription) who did not graduate in it
heuristica AS (
    SELECT r.alumno_key,
           'heurística'                                                      AS fuente,
           CAST(r.cohorte AS INTEGER)                                        AS cohorte,
           COALESCE(NULLIF(trim(CAST(r.propuesta_nombre AS VARCHAR)), ''), 'sin dato') AS propuesta,
           COALESCE(NULLIF(trim(CAST(r.sede_nombre AS VARCHAR)), ''), 'sin dato')      AS sede,
           CAST(r.risk_score_heuristic AS DOUBLE)                            AS puntaje,
           CASE WHEN r.risk_score_heuristic >= 6 THEN 'alto'
                WHEN r.risk_score_heuristic >= 3 THEN 'medio' ELSE 'bajo' END AS nivel,
           CAST(NULL AS VARCHAR)                                             AS razones,
           CAST(r.anio_academico AS INTEGER)                                 AS anio_academico,
           CAST(NULL AS INTEGER)                                             AS time_idx
    FROM gold.mart_student_risk_features r
    WHERE r.actividad_academica
      AND NOT EXISTS (SELECT 1 FROM gold.mart_student_academic_summary a
                      WHERE a.alumno_key = r.alumno_key AND a.anio_academico = r.anio_academico
                        AND a.es_anio_egreso)
)
SELECT * FROM modelo WHERE (SELECT si FROM usa_modelo)
UNION ALL
SELECT * FROM heuristica WHERE NOT (SELECT si FROM usa_modelo);
