-- target:   silver.dim_facultad
-- grain:    source_db, facultad_nombre
-- upstream: silver.dim_ubicacion
-- test:     unique(facultad_key)
-- A faculty (or the source itself when no name is known): one row per name per source, so faculties
-- with the same name in two sources stay apart. Key: a hash of source_db and the name (stable).
CREATE OR REPLACE TABLE silver.dim_facultad AS
SELECT facultad_key,
       source_db,
       facultad_nombre,
       min(see_institucion_p)      AS universidad_nombre,
       count(*)                    AS cantidad_sedes,
       min(see_provincia)          AS provincia_principal
FROM silver.dim_ubicacion
GROUP BY facultad_key, source_db, facultad_nombre;
