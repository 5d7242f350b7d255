-- target:   bronze.historia_academica
-- grain:    one row per (source_db, dwh_pk); dwh_pk hashes the result's identity (student, plan version,
--           activity, instance, origin, day) but not its grade or result, so a correction updates the row;
--           the fallback file hashes the same columns, so switching views never duplicates a result
-- upstream: negocio.vw_hist_academica, sga_actas
-- load:     incremental on fecha_cursor (the later of the result's day and its acta's recording day; the as-of
--           date for undated rows), merge on the key
-- fecha is DATE in some deployments and TIMESTAMPTZ in others: bronze reads it as its declared DATE (the
-- local day); the key and the cursor cast it to that day here (the session runs on DWH_TIMEZONE's clock);
-- the predicate stays on the raw column. fecha_registro is the day the result's acta was recorded
-- (sga_actas.fecha_generacion), often weeks after the exam: a result recorded late is read by the run that
-- follows its recording, and gold counts it as known from then.
SELECT md5(concat_ws('|', h.alumno, h.plan_version, h.elemento, h.instancia, h.origen,
                     CAST(h.fecha AS date)))                              AS dwh_pk,
       h.persona,
       h.alumno,
       h.plan_version,
       h.elemento,
       h.elemento_revision,
       h.actividad_codigo,
       h.actividad_nombre,
       h.anio_academico::integer                                          AS anio_academico,
       h.periodo_lectivo,
       h.turno_examen_nombre,
       h.instancia,
       h.fecha                                                            AS fecha,
       h.nota,
       h.nota_descripcion,
       h.resultado,
       h.resultado_descripcion,
       h.tipo,
       h.origen,
       h.pct_asistencia,
       h.creditos,
       h.id_acta,
       h.folio,
       h.renglon,
       h.evaluacion,
       h.comision,
       h.nro_resolucion,
       h.fecha_vigencia,
       LEAST(COALESCE(GREATEST(CAST(h.fecha AS date), CAST(ac.fecha_generacion AS date)), CAST(:cursor_cap AS date)),
             CAST(:cursor_cap AS date))                                        AS fecha_cursor,
       ac.fecha_generacion                                                AS fecha_registro
FROM negocio.vw_hist_academica h
LEFT JOIN negocio.sga_actas ac ON ac.id_acta = h.id_acta
-- vw_hist_academica is a view: it has no row versions of its own. By versions (dwh/docs/CHANGE_DETECTION.md)
-- the results listed by scopes/historia_academica.sql (whole actas, or one student in an acta; read first) are
-- read (:scope_ids: every acta touched, so the view is entered by acta); the date
-- tests are left out then (xid_mode()), since they make PostgreSQL evaluate the whole view.
WHERE (NOT xid_mode()
       AND (h.fecha >= CAST(:start_value AS date) OR h.fecha IS NULL
            OR ac.fecha_generacion >= CAST(:start_value AS date)))
   OR (h.id_acta = ANY (CAST(:scope_ids AS integer[]))
       AND (h.id_acta = ANY (CAST(:scope_whole AS integer[]))
            OR (h.id_acta, h.alumno) IN (SELECT g, m
                                         FROM unnest(CAST(:scope_pair_groups AS integer[]),
                                                     CAST(:scope_pair_members AS integer[])) AS p(g, m))))
