-- target:   bronze.alumnos_hist_calidad
-- grain:    one row per (source_db, alumno, fecha)
-- upstream: negocio.sga_alumnos_hist_calidad
-- load:     incremental on fecha (TIMESTAMPTZ NOT NULL, never after the as-of day), merge on the key
SELECT h.alumno,
       h.fecha,
       h.calidad,
       h.motivo_calidad
FROM negocio.sga_alumnos_hist_calidad h
WHERE (h.fecha >= CAST(:start_value AS timestamptz) OR xid_changed(h))
  AND h.fecha < CAST(:as_of AS date) + 1
