-- target:   bronze.perdida_regularidades
-- grain:    one row per (source_db, perdida_regularidad)
-- upstream: negocio.sga_perdida_regularidad
-- load:     incremental on fecha (DATE NOT NULL, never after the as-of date), merge on the key
-- The only extraction of sga_perdida_regularidad: the prototype's duplicate `dropout` table is gone (D28).
SELECT pr.perdida_regularidad,
       pr.alumno,
       pr.anio_academico::integer AS anio_academico,
       pr.nro_perdida_regularidad,
       pr.fecha,
       pr.fecha_control_desde,
       pr.fecha_control_hasta
FROM negocio.sga_perdida_regularidad pr
WHERE (pr.fecha >= CAST(:start_value AS date) OR xid_changed(pr))
  AND pr.fecha < CAST(:as_of AS date) + 1
