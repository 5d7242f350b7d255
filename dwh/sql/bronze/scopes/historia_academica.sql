-- target:   the actas whose results bronze.historia_academica reads again (a read by row versions)
-- grain:    one row per (id_acta, alumno); alumno NULL: the whole acta
-- upstream: negocio.sga_actas, sga_actas_detalle
-- A whole acta when its own row (estado: closed, re-opened, cancelled) was written since the last load, one
-- student's results in it when their detail row (a grade, a result) was (dwh/docs/CHANGE_DETECTION.md). Bronze deletes the acta's rows and
-- loads what the view shows of it now, so a re-opened acta's results leave bronze the next night.
SELECT a.id_acta, CAST(NULL AS integer) AS alumno FROM negocio.sga_actas a WHERE xid_changed(a)
UNION
SELECT d.id_acta, d.alumno FROM negocio.sga_actas_detalle d WHERE xid_changed(d)
