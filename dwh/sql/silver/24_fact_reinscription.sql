-- target:   silver.fact_reinscription
-- grain:    source_db, reinscripcion
-- upstream: bronze.reinscripciones
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     relationship(anio_academico -> silver.dim_periodo(anio_academico))
CREATE OR REPLACE TABLE silver.fact_reinscription AS
SELECT source_db,
       reinscripcion,
       silver.pseudonym(source_db, alumno)      AS alumno_key,
       CAST(anio_academico AS INTEGER)          AS anio_academico,
       fecha_reinscripcion,
       nro_transaccion
FROM bronze.reinscripciones;
