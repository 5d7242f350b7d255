-- target:   bronze.exam_inscriptions
-- grain:    one row per (source_db, inscripcion_id)
-- upstream: negocio.sga_insc_examen, sga_llamados_mesa, sga_mesas_examen, sga_elementos, sga_instancias,
--           sga_planes_versiones
-- load:     incremental on fecha_inscripcion (TIMESTAMPTZ NOT NULL, never after the as-of day), merge on the key
-- The cursor is the inscription time, not the exam date, which lies in the future (D6).
-- The exam date is DATE or TIMESTAMPTZ depending on the deployment: bronze reads it as its declared DATE
-- (the local day on DWH_TIMEZONE's clock), like every column whose type varies.
SELECT sie.inscripcion                  AS inscripcion_id,
       sie.alumno,
       sie.llamado_mesa,
       se.elemento                      AS elemento_id,
       se.codigo                        AS catedra_cod,
       se.nombre                        AS catedra_nombre,
       slm.fecha                        AS fecha_mesa_examen,
       sie.instancia                    AS instancia_id,
       sin.nombre                       AS instancia_desc,
       sie.plan_version                 AS plan_version_id,
       spv.nombre                       AS plan_version_desc,
       sie.estado                       AS estado_inscripcion,
       sie.fecha_inscripcion
FROM negocio.sga_insc_examen sie
LEFT JOIN negocio.sga_llamados_mesa slm     ON slm.llamado_mesa = sie.llamado_mesa
LEFT JOIN negocio.sga_mesas_examen sme      ON sme.mesa_examen = slm.mesa_examen
LEFT JOIN negocio.sga_elementos se          ON se.elemento = sme.elemento
LEFT JOIN negocio.sga_instancias sin        ON sin.instancia = sie.instancia
LEFT JOIN negocio.sga_planes_versiones spv  ON spv.plan_version = sie.plan_version
-- By row versions (dwh/docs/CHANGE_DETECTION.md): the inscription's own row, or its call, board, subject,
-- instance or plan version, written since the last load; tested on the inscription's keys.
WHERE (sie.fecha_inscripcion >= CAST(:start_value AS timestamptz)
       OR xid_changed(sie)
       OR sie.llamado_mesa IN (SELECT lm.llamado_mesa
                               FROM negocio.sga_llamados_mesa lm
                               LEFT JOIN negocio.sga_mesas_examen me ON me.mesa_examen = lm.mesa_examen
                               LEFT JOIN negocio.sga_elementos e     ON e.elemento = me.elemento
                               WHERE xid_changed(lm) OR xid_changed(me) OR xid_changed(e))
       OR sie.instancia IN (SELECT i.instancia FROM negocio.sga_instancias i WHERE xid_changed(i))
       OR sie.plan_version IN (SELECT v.plan_version FROM negocio.sga_planes_versiones v WHERE xid_changed(v)))
  AND sie.fecha_inscripcion < CAST(:as_of AS date) + 1
