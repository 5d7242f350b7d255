-- target:   silver.fact_intervencion
-- grain:    source_db, intervencion
-- upstream: bronze.intervenciones, silver.dim_student
-- test:     not_null(alumno_key, fecha, canal, resultado, registrada, registrada_dia)
-- test:     accepted_values(canal: 'telefono', 'email', 'presencial', 'mensajeria', 'otro')
-- test:     accepted_values(resultado: 'contactado', 'no_responde', 'derivado', 'otro')
-- test:     expression(seguimiento IS NULL OR seguimiento >= fecha)
-- test:     expression(fecha <= registrada_dia)
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key)) warn
-- One row per intervention a tutor recorded in the dashboard (the application database, read by bronze
-- as a source of kind intervenciones), as known on the as-of date: an intervention recorded (registrada,
-- its local day) after the as-of date does not exist yet. alumno_key is the pseudonymous alumno_key the
-- tutor acted on; alumno_conocido is false when no student of the warehouse has that key any more (a key
-- recorded under an earlier key secret). The tutor's user name and the free note stay in the application
-- database.
CREATE OR REPLACE TABLE silver.fact_intervencion AS
SELECT i.source_db,
       i.intervencion,
       i.alumno_key,
       i.fecha,
       i.canal,
       i.resultado,
       i.seguimiento,
       i.registrada,
       CAST(i.registrada AS DATE)                                           AS registrada_dia,
       EXISTS (SELECT 1 FROM silver.dim_student d WHERE d.alumno_key = i.alumno_key) AS alumno_conocido
FROM bronze.intervenciones i
WHERE CAST(i.registrada AS DATE) <= getvariable('as_of');
