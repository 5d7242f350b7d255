-- target:   gold.gold_tft_feature_roles
-- grain:    column_name
-- upstream: gold.gold_tft_training_dataset, gold.gold_tft_static_features, gold.gold_tft_known_future
-- test:     accepted_values(tft_role: 'group_ids', 'time_idx', 'target', 'static_categoricals', 'static_reals', 'time_varying_known_categoricals', 'time_varying_known_reals', 'time_varying_unknown_categoricals', 'time_varying_unknown_reals', 'meta')
-- test:     row_count(>= 10)
-- Every column of gold_tft_training_dataset with its role, named as TimeSeriesDataSet's parameters, so
-- no Python code holds column lists. Roles follow from where a column comes from and its type (VARCHAR
-- = categorical, DOUBLE = real; any other type fails the accepted_values test). A row's semester
-- features are all recorded by its as_of_date and its label is about later semesters, so they are known
-- when the row is predicted: they are time_varying_known (the decoder sees the latest semester).
-- origen tells where a feature comes from: ingreso (static), calendario, or semestre (observed).
CREATE OR REPLACE TABLE gold.gold_tft_feature_roles AS
WITH columnas AS (
    SELECT column_name, column_type AS data_type, row_number() OVER () AS ordinal_position
    FROM (DESCRIBE gold.gold_tft_training_dataset)
),
estaticas AS (
    SELECT column_name FROM (DESCRIBE gold.gold_tft_static_features)
),
calendario AS (
    SELECT column_name FROM (DESCRIBE gold.gold_tft_known_future)
    UNION ALL SELECT 'semestres_desde_ingreso'
),
clasificadas AS (
    SELECT c.column_name, c.data_type, c.ordinal_position,
           CASE WHEN c.data_type = 'VARCHAR' THEN 'categoricals'
                WHEN c.data_type = 'DOUBLE' THEN 'reals' END AS tipo,
           CASE WHEN c.column_name IN (SELECT column_name FROM estaticas) THEN 'ingreso'
                WHEN c.column_name IN (SELECT column_name FROM calendario) THEN 'calendario'
                ELSE 'semestre' END AS origen
    FROM columnas c
)
SELECT column_name,
       CASE
           WHEN column_name = 'alumno_key' THEN 'group_ids'
           WHEN column_name = 'time_idx' THEN 'time_idx'
           WHEN column_name = 'target' THEN 'target'
           WHEN column_name IN ('anio_academico', 'as_of_date', 'label_as_of_date', 'abandono', 'perdida_regularidad',
                                'egresados_incompletos') THEN 'meta'
           WHEN tipo IS NULL THEN 'tipo no admitido: ' || data_type
           WHEN origen = 'ingreso' THEN 'static_' || tipo
           ELSE 'time_varying_known_' || tipo
       END AS tft_role,
       CASE WHEN column_name IN ('alumno_key', 'time_idx', 'target', 'anio_academico', 'as_of_date',
                                 'label_as_of_date', 'abandono', 'perdida_regularidad', 'egresados_incompletos')
            THEN NULL ELSE origen END AS origen,
       data_type,
       CAST(ordinal_position AS INTEGER) AS posicion
FROM clasificadas
ORDER BY posicion;
