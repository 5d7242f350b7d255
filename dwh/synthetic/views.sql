-- Academic-history views of the synthetic Guaraní: final results (exams and promotions) from closed actas.
-- Column names and types follow source_schemas.md; the bodies are dwh's own (the real bodies are not public).
CREATE VIEW negocio.vw_hist_academica AS
SELECT al.persona::integer                      AS persona,
       ad.alumno::integer                       AS alumno,
       ad.plan_version::integer                 AS plan_version,
       el.elemento::integer                     AS elemento,
       el.elemento::integer                     AS elemento_revision,
       el.codigo::varchar(20)                   AS actividad_codigo,
       el.nombre::varchar(255)                  AS actividad_nombre,
       COALESCE(pe_c.anio_academico, pe_e.anio_academico)::numeric(4,0) AS anio_academico,
       co.periodo_lectivo::integer              AS periodo_lectivo,
       CASE lt.turno_examen WHEN 1 THEN 'Turno Febrero' WHEN 2 THEN 'Turno Julio' WHEN 3 THEN 'Turno Diciembre'
       END::varchar(100)                        AS turno_examen_nombre,
       ad.instancia::integer                    AS instancia,
       CASE WHEN ac.origen = 'E' THEN lm.fecha ELSE ad.fecha END::{fecha_type} AS fecha,
       ad.nota::varchar(10)                     AS nota,
       CASE WHEN ad.nota::text ~ '^[0-9]+(,[0-9]+)?$' THEN 'Nota ' || ad.nota END::varchar(50) AS nota_descripcion,
       ad.resultado::char(1)                    AS resultado,
       CASE ad.resultado WHEN 'A' THEN 'Aprobado' WHEN 'P' THEN 'Promocionado' WHEN 'R' THEN 'Reprobado'
            WHEN 'N' THEN 'Desaprobado' WHEN 'U' THEN 'Ausente' END::varchar(30) AS resultado_descripcion,
       CASE ac.origen WHEN 'E' THEN 'Examen' ELSE 'Promoción' END::varchar(30) AS tipo,
       ac.origen::char(1)                       AS origen,
       asi.porc_asistencia::numeric(5,2)        AS pct_asistencia,
       NULL::numeric(6,2)                       AS creditos,
       ad.id_acta::integer                      AS id_acta,
       ad.folio::smallint                       AS folio,
       ad.renglon::smallint                     AS renglon,
       CASE WHEN ac.origen = 'P' THEN ac.comision END::integer AS evaluacion,
       ac.comision::integer                     AS comision,
       NULL::varchar(30)                        AS nro_resolucion,
       NULL::varchar(255)                       AS nro_resolucion_descripcion,
       NULL::varchar(30)                        AS reconocimiento_nro_tramite,
       NULL::varchar(30)                        AS reconocimiento_nro_tramite_original,
       NULL::varchar(30)                        AS reconocimiento_tipo_tramite,
       NULL::varchar(30)                        AS reconocimiento_act,
       NULL::date                               AS fecha_vigencia,
       NULL::varchar(30)                        AS nua
FROM negocio.sga_actas_detalle ad
JOIN negocio.sga_actas ac ON ac.id_acta = ad.id_acta
JOIN negocio.sga_alumnos al ON al.alumno = ad.alumno
LEFT JOIN negocio.sga_comisiones co ON co.comision = ac.comision
LEFT JOIN negocio.sga_periodos_lectivos pl ON pl.periodo_lectivo = co.periodo_lectivo
LEFT JOIN negocio.sga_periodos pe_c ON pe_c.periodo = pl.periodo
LEFT JOIN negocio.sga_llamados_mesa lm ON lm.llamado_mesa = ac.llamado_mesa
LEFT JOIN negocio.sga_llamados_turno lt ON lt.llamado = lm.llamado
LEFT JOIN negocio.sga_mesas_examen me ON me.mesa_examen = lm.mesa_examen
LEFT JOIN negocio.sga_periodos pe_e
       ON (lm.fecha::date) BETWEEN pe_e.fecha_inicio::date AND pe_e.fecha_fin::date AND pe_e.periodo_generico IN (1, 2)
LEFT JOIN negocio.sga_clases_asistencia_acum asi ON asi.comision = ac.comision AND asi.alumno = ad.alumno
JOIN negocio.sga_elementos el ON el.elemento = COALESCE(co.elemento, me.elemento)
WHERE ac.origen IN ('E', 'P') AND ac.estado = 'C' AND ad.estado = 'A' AND ad.rectificado = 'N';

CREATE VIEW negocio.vw_hist_academica_basica AS
SELECT persona, alumno, plan_version, elemento, elemento_revision, actividad_codigo, actividad_nombre,
       anio_academico, instancia, fecha, nota, resultado, origen
FROM negocio.vw_hist_academica;
