-- target:   bronze.course_inscriptions
-- grain:    one row per (source_db, inscripcion_id)
-- upstream: negocio.sga_insc_cursada, sga_comisiones, sga_elementos, sga_periodos_lectivos, sga_periodos,
--           sga_planes_versiones
-- load:     incremental on fecha_inscripcion (TIMESTAMPTZ NOT NULL, never after the as-of day), merge on the key
SELECT sic.inscripcion                  AS inscripcion_id,
       sic.alumno,
       sic.comision,
       se.elemento                      AS elemento_id,
       se.codigo                        AS catedra_cod,
       se.nombre                        AS catedra_nombre,
       spl.periodo_lectivo,
       spl.fecha_inicio_dictado                       AS periodo_inicio,
       sp.nombre                        AS periodo_lectivo_nombre,
       sp.anio_academico::integer       AS anio_academico,
       sic.plan_version                 AS plan_version_id,
       spv.nombre                       AS plan_version_desc,
       sic.estado                       AS estado_inscripcion,
       sic.fecha_inscripcion
FROM negocio.sga_insc_cursada sic
LEFT JOIN negocio.sga_comisiones sc          ON sc.comision = sic.comision
LEFT JOIN negocio.sga_elementos se           ON se.elemento = sc.elemento
LEFT JOIN negocio.sga_periodos_lectivos spl  ON spl.periodo_lectivo = sc.periodo_lectivo
LEFT JOIN negocio.sga_periodos sp            ON sp.periodo = spl.periodo
LEFT JOIN negocio.sga_planes_versiones spv   ON spv.plan_version = sic.plan_version
-- By row versions (dwh/docs/CHANGE_DETECTION.md): the inscription's own row, or its comisión, subject, period
-- or plan version, written since the last load; tested on the inscription's keys.
WHERE (sic.fecha_inscripcion >= CAST(:start_value AS timestamptz)
       OR xid_changed(sic)
       OR sic.comision IN (SELECT c.comision
                           FROM negocio.sga_comisiones c
                           LEFT JOIN negocio.sga_elementos e           ON e.elemento = c.elemento
                           LEFT JOIN negocio.sga_periodos_lectivos pl  ON pl.periodo_lectivo = c.periodo_lectivo
                           LEFT JOIN negocio.sga_periodos p            ON p.periodo = pl.periodo
                           WHERE xid_changed(c) OR xid_changed(e) OR xid_changed(pl) OR xid_changed(p))
       OR sic.plan_version IN (SELECT v.plan_version FROM negocio.sga_planes_versiones v WHERE xid_changed(v)))
  AND sic.fecha_inscripcion < CAST(:as_of AS date) + 1
