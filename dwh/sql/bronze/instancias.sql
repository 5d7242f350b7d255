-- target:   bronze.instancias
-- grain:    one row per (source_db, instancia)
-- upstream: negocio.sga_instancias
-- load:     snapshot (each run replaces this source's rows)
SELECT i.instancia,
       i.nombre AS instancia_nombre
FROM negocio.sga_instancias i
-- Read by row versions (dwh/docs/CHANGE_DETECTION.md): the rows written since the last load; else all.
WHERE NOT xid_mode() OR xid_changed(i)
