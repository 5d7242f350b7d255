-- target:   bronze.reinscripciones
-- grain:    one row per (source_db, reinscripcion)
-- upstream: negocio.sga_reinscripciones
-- load:     incremental on fecha_reinscripcion (TIMESTAMPTZ NOT NULL, never after the as-of day), merge on the key
SELECT sr.reinscripcion,
       sr.alumno,
       sr.anio_academico::integer AS anio_academico,
       sr.fecha_reinscripcion,
       sr.nro_transaccion
FROM negocio.sga_reinscripciones sr
WHERE (sr.fecha_reinscripcion >= CAST(:start_value AS timestamptz) OR xid_changed(sr))
  AND sr.fecha_reinscripcion < CAST(:as_of AS date) + 1
