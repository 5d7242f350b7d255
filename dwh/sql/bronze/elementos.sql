-- target:   bronze.elementos
-- grain:    one row per (source_db, elemento)
-- upstream: negocio.sga_elementos
-- load:     snapshot (each run replaces this source's rows)
SELECT e.elemento,
       e.codigo  AS materia_codigo,
       e.nombre  AS materia_nombre
FROM negocio.sga_elementos e
-- Read by row versions (dwh/docs/CHANGE_DETECTION.md): the rows written since the last load; else all.
WHERE NOT xid_mode() OR xid_changed(e)
