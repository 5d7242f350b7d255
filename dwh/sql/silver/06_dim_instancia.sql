-- target:   silver.dim_instancia
-- grain:    source_db, instancia
-- upstream: bronze.instancias
-- test:     unique(instancia_key)
CREATE OR REPLACE TABLE silver.dim_instancia AS
SELECT silver.surrogate(source_db, instancia) AS instancia_key,
       source_db,
       instancia,
       instancia_nombre
FROM bronze.instancias;
