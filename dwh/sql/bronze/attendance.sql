-- target:   bronze.attendance
-- grain:    one row per (source_db, comision, alumno)
-- upstream: negocio.sga_clases_asistencia_acum, sga_comisiones, sga_periodos_lectivos, sga_periodos
-- load:     incremental on periodo_fin (end of the dictation period, capped at the as-of date), merge on the key
-- Accumulated attendance changes while a period runs and settles after it ends: every run re-reads the
-- periods that ended inside the look-back window or have not ended yet. Guaraní keeps no history of it,
-- so it is final only from fin_dictado, the real last day of classes (periodo_fin is capped for the cursor).
SELECT sca.comision,
       sca.alumno,
       sp.anio_academico::integer                     AS anio_academico,
       spl.periodo_lectivo,
       sc.elemento,
       spl.fecha_inicio_dictado                       AS periodo_inicio,
       sca.porc_asistencia,
       sca.total_asistencias,
       sca.total_inasistencias,
       sca.libre,
       LEAST(spl.fecha_fin_dictado, CAST(:cursor_cap AS date))     AS periodo_fin,
       spl.fecha_fin_dictado                          AS fin_dictado
FROM negocio.sga_clases_asistencia_acum sca
JOIN negocio.sga_comisiones sc         ON sc.comision = sca.comision
JOIN negocio.sga_periodos_lectivos spl ON spl.periodo_lectivo = sc.periodo_lectivo
JOIN negocio.sga_periodos sp           ON sp.periodo = spl.periodo
-- Read: the comisiones whose dictation ends on or after :start_value, and by row versions every row written
-- since the last load, or whose comisión or period was (dwh/docs/CHANGE_DETECTION.md).
WHERE sca.comision IN (SELECT c.comision
                     FROM negocio.sga_comisiones c
                     JOIN negocio.sga_periodos_lectivos pl ON pl.periodo_lectivo = c.periodo_lectivo
                     JOIN negocio.sga_periodos p           ON p.periodo = pl.periodo
                     WHERE pl.fecha_fin_dictado >= CAST(:start_value AS date)
                        OR xid_changed(c) OR xid_changed(pl) OR xid_changed(p))
   OR xid_changed(sca)
