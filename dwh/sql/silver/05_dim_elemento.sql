-- target:   silver.dim_elemento
-- grain:    source_db, elemento
-- upstream: bronze.elementos
-- test:     unique(elemento_key)
CREATE OR REPLACE TABLE silver.dim_elemento AS
SELECT silver.surrogate(source_db, elemento) AS elemento_key,
       source_db,
       elemento,
       materia_codigo,
       materia_nombre
FROM bronze.elementos;
