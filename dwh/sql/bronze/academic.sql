-- target:   bronze.academic
-- grain:    one row per (source_db, inscripcion) — every cursada inscription, with or without a result
-- upstream: negocio.sga_insc_cursada, sga_comisiones, sga_periodos_lectivos, sga_periodos, sga_actas,
--           sga_actas_detalle
-- load:     incremental on periodo_fin (end of the dictation period, capped at the as-of date), merge on the key
-- The cursada result comes from the comisión's actas (origen R regularidad, P promoción) joined on the
-- exact keys sga_actas.comision and sga_actas_detalle(id_acta, alumno) (D28: not sga_evaluaciones.entidad).
-- The grade stays as Guaraní's text; silver parses it (D30). fecha_nota is the day of the result (last
-- class or exam); fecha_registro_nota the day its acta was recorded (sga_actas.fecha_generacion), which can
-- be weeks later: gold counts a result as known from then. fin_dictado is the real last day of classes
-- (periodo_fin is capped at the as-of date for the cursor).
SELECT sc.inscripcion,
       sc.alumno,
       sc.comision,
       sp.anio_academico::integer                     AS anio_academico,
       spl.periodo_lectivo,
       scom.elemento,
       spl.fecha_inicio_dictado                       AS periodo_inicio,
       res.id_acta,
       res.origen                                     AS origen_acta,
       res.nota                                       AS nota_cursada,
       res.resultado                                  AS resultado_cursada,
       res.fecha                                      AS fecha_nota,
       LEAST(spl.fecha_fin_dictado, CAST(:cursor_cap AS date))     AS periodo_fin,
       res.fecha_generacion                           AS fecha_registro_nota,
       spl.fecha_fin_dictado                          AS fin_dictado
FROM negocio.sga_insc_cursada sc
JOIN negocio.sga_comisiones scom       ON scom.comision = sc.comision
JOIN negocio.sga_periodos_lectivos spl ON spl.periodo_lectivo = scom.periodo_lectivo
JOIN negocio.sga_periodos sp           ON sp.periodo = spl.periodo
LEFT JOIN LATERAL (
    SELECT ad.id_acta, ac.origen, ad.nota, ad.resultado, ad.fecha, ac.fecha_generacion
    FROM negocio.sga_actas ac
    JOIN negocio.sga_actas_detalle ad ON ad.id_acta = ac.id_acta AND ad.alumno = sc.alumno
    WHERE ac.comision = sc.comision AND ac.origen IN ('R', 'P') AND ac.estado <> 'B' AND ad.estado = 'A'
    ORDER BY (ac.origen = 'P') DESC, ad.fecha DESC NULLS LAST, ad.id_acta DESC
    LIMIT 1
) res ON TRUE
LEFT JOIN (
    SELECT DISTINCT changed.comision, changed.alumno
    FROM (SELECT ac2.comision, ad2.alumno
          FROM negocio.sga_actas_detalle ad2
          JOIN negocio.sga_actas ac2 ON ac2.id_acta = ad2.id_acta
          WHERE xid_changed(ad2)
          UNION ALL
          SELECT ac3.comision, ad3.alumno
          FROM negocio.sga_actas ac3
          JOIN negocio.sga_actas_detalle ad3 ON ad3.id_acta = ac3.id_acta
          WHERE xid_changed(ac3)) AS changed
) acta_changed ON acta_changed.comision = sc.comision AND acta_changed.alumno = sc.alumno
-- Read: the comisiones whose dictation ends on or after :start_value, and by row versions (xid_changed, see
-- dwh/docs/CHANGE_DETECTION.md) every inscription whose own row, comisión, period or acta result was written
-- since the last load (acta_changed: a hash join, whatever the number of changed results).
WHERE sc.comision IN (SELECT c.comision
                     FROM negocio.sga_comisiones c
                     JOIN negocio.sga_periodos_lectivos pl ON pl.periodo_lectivo = c.periodo_lectivo
                     JOIN negocio.sga_periodos p           ON p.periodo = pl.periodo
                     WHERE pl.fecha_fin_dictado >= CAST(:start_value AS date)
                        OR xid_changed(c) OR xid_changed(pl) OR xid_changed(p))
   OR xid_changed(sc)
   OR acta_changed.comision IS NOT NULL
