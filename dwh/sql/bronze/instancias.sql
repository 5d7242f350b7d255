-- target:   bronze.instancias
-- grain:    one row per (source_db, instancia)
-- upstream: negocio.sga_instancias
-- load:     snapshot (each run replaces this source's rows)
SELECT i.instancia,
       i.nombre AS instancia_nombre
FROM negocio.sga_instancias i
