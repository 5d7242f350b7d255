-- target:   silver.dim_ubicacion
-- grain:    source_db, ubicacion
-- upstream: bronze.students, silver.seed_site_classification
-- test:     unique(ubicacion_key)
-- test:     not_null(facultad_nombre, sede_nombre, tipo_sede)
-- A site (Guaraní ubicación). Faculty, site name and site type come from seed_site_classification,
-- keyed on (source_db, ubicacion); without a seed row they fall back to the source's own names.
CREATE OR REPLACE TABLE silver.dim_ubicacion AS
WITH sites AS (
    SELECT source_db, ubicacion,
           min(see_nombre) AS see_nombre, min(see_calle) AS see_calle, min(see_numero) AS see_numero,
           min(see_codigo_postal) AS see_codigo_postal, min(see_institucion) AS see_institucion,
           min(see_institucion_p) AS see_institucion_p, min(see_localidad) AS see_localidad,
           min(see_dpto) AS see_dpto, min(see_provincia) AS see_provincia
    FROM bronze.students
    WHERE ubicacion IS NOT NULL
    GROUP BY source_db, ubicacion
)
SELECT silver.surrogate(s.source_db, s.ubicacion)                                  AS ubicacion_key,
       s.*,
       COALESCE(NULLIF(c.facultad, ''), s.see_institucion, s.source_db)           AS facultad_nombre,
       COALESCE(NULLIF(c.sede, ''), s.see_nombre, 'Ubicación ' || s.ubicacion)    AS sede_nombre,
       COALESCE(NULLIF(c.tipo_sede, ''), 'sin clasificar')                         AS tipo_sede,
       silver.surrogate(s.source_db, COALESCE(NULLIF(c.facultad, ''), s.see_institucion, s.source_db))
                                                                                   AS facultad_key
FROM sites s
LEFT JOIN silver.seed_site_classification c
       ON c.source_db = s.source_db AND TRY_CAST(c.ubicacion AS BIGINT) = s.ubicacion;
