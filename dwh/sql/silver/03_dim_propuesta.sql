-- target:   silver.dim_propuesta
-- grain:    source_db, propuesta
-- upstream: bronze.students
-- test:     unique(propuesta_key)
CREATE OR REPLACE TABLE silver.dim_propuesta AS
SELECT silver.surrogate(source_db, propuesta) AS propuesta_key,
       source_db,
       propuesta,
       min(propuesta_nombre)                 AS propuesta_nombre,
       min(propuesta_codigo)                 AS propuesta_codigo
FROM bronze.students
WHERE propuesta IS NOT NULL
GROUP BY source_db, propuesta;
