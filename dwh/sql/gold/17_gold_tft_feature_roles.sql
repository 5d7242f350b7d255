-- target:   gold.gold_tft_feature_roles
-- grain:    column_name
-- upstream: gold.gold_tft_training_dataset, gold.gold_tft_static_features, gold.gold_tft_known_future,
--           gold.seed_feature_descriptions
-- test:     accepted_values(tft_role: 'group_ids', 'time_idx', 'target', 'static_categoricals', 'static_reals', 'time_varying_known_categoricals', 'time_varying_known_reals', 'time_varying_unknown_categoricals', 'time_varying_unknown_reals', 'meta')
-- test:     row_count(>= 10)
-- test:     expression(descripcion IS NOT NULL OR tft_role IN ('group_ids', 'time_idx', 'target', 'meta'))
-- Every column of gold_tft_training_dataset with its role, named as TimeSeriesDataSet's parameters, so
-- no Python code holds column lists. Roles follow from where a column comes from and its type (VARCHAR
-- = categorical, DOUBLE = real; any other type fails the accepted_values test):
--   ingreso (known at entry, never changes): static;
--   calendario (known for any future semester): time_varying_known, what the decoder sees of t+1;
--   semestre (observed in the semester, known at its as_of_date, not before): time_varying_unknown, what
--   the encoder sees up to and including row t.
-- cohorte is meta: a model must not learn a year of entry it will never see again.
-- descripcion (seed_feature_descriptions, replaceable) names each input in Spanish for the reasons shown
-- to tutors; an input without one fails the expression test.
CREATE OR REPLACE TABLE gold.gold_tft_feature_roles AS
WITH columnas AS (
    -- the position from the catalog, not from the order DESCRIBE's rows come out in: layer builds run with
    -- preserve_insertion_order = false, which lets DuckDB reorder rows that have no ORDER BY
    SELECT d.column_name, d.column_type AS data_type, c.column_index AS ordinal_position
    FROM (DESCRIBE gold.gold_tft_training_dataset) d
    JOIN duckdb_columns() c
      ON c.database_name = current_database() AND c.schema_name = 'gold'
     AND c.table_name = 'gold_tft_training_dataset' AND c.column_name = d.column_name
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
                ELSE 'semestre' END AS origen,
           c.column_name IN ('alumno_key', 'time_idx', 'target', 'anio_academico', 'as_of_date', 'label_as_of_date',
                             'abandono', 'perdida_regularidad', 'egresados_incompletos', 'cohorte') AS no_entrada
    FROM columnas c
)
SELECT k.column_name,
       CASE
           WHEN k.column_name = 'alumno_key' THEN 'group_ids'
           WHEN k.column_name = 'time_idx' THEN 'time_idx'
           WHEN k.column_name = 'target' THEN 'target'
           WHEN k.no_entrada THEN 'meta'
           WHEN k.tipo IS NULL THEN 'tipo no admitido: ' || k.data_type
           WHEN k.origen = 'ingreso' THEN 'static_' || k.tipo
           WHEN k.origen = 'calendario' THEN 'time_varying_known_' || k.tipo
           ELSE 'time_varying_unknown_' || k.tipo
       END AS tft_role,
       CASE WHEN k.no_entrada AND k.column_name <> 'cohorte' THEN NULL ELSE k.origen END AS origen,
       k.data_type,
       CAST(k.ordinal_position AS INTEGER) AS posicion,
       d.descripcion
FROM clasificadas k
LEFT JOIN gold.seed_feature_descriptions d ON d.column_name = k.column_name
ORDER BY posicion;
