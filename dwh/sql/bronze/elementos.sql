-- target:   bronze.elementos
-- grain:    one row per (source_db, elemento)
-- upstream: negocio.sga_elementos
-- load:     snapshot (each run replaces this source's rows)
SELECT e.elemento,
       e.codigo  AS materia_codigo,
       e.nombre  AS materia_nombre
FROM negocio.sga_elementos e
