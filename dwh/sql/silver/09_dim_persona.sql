-- target:   silver.dim_persona
-- grain:    source_db, persona
-- upstream: bronze.personas
-- test:     unique(persona_key)
-- test:     expression(edad IS NULL OR edad BETWEEN 10 AND 100) warn
-- Ages are completed years at the as-of date (DWH_AS_OF), never at the run date. The login (the DNI in
-- practice) stays in bronze: only its keyed pseudonym (HMAC under the key file) is kept, to link Moodle
-- accounts; persona_key is a keyed pseudonym too (dwh/docs/PRIVACY.md).
CREATE OR REPLACE TABLE silver.dim_persona AS
SELECT silver.pseudonym(source_db, persona)                            AS persona_key,
       source_db,
       persona,
       fecha_nacimiento,
       silver.anios_cumplidos(fecha_nacimiento, getvariable('as_of'))   AS edad,
       sexo,
       identidad_genero,
       localidad_nacimiento,
       localidad_nacimiento_desc,
       nacionalidad,
       nacionalidad_desc,
       CASE WHEN NULLIF(trim(usuario), '') IS NOT NULL
            THEN silver.pseudonym('login', lower(trim(usuario))) END        AS login_hash
FROM bronze.personas;
