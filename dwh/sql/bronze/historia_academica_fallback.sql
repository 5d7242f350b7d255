-- target:   bronze.historia_academica (fallback when vw_hist_academica is missing or lacks a column)
-- grain:    one row per (source_db, dwh_pk), as historia_academica.sql
-- upstream: negocio.vw_hist_academica_basica
-- load:     incremental on fecha_cursor, merge on the key
-- Columns the basic view lacks are typed NULLs, so the bronze table keeps one schema.
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
       NULL::integer                                                      AS periodo_lectivo,
       NULL::varchar                                                      AS turno_examen_nombre,
       h.instancia,
       h.fecha                                                            AS fecha,
       h.nota,
       NULL::varchar                                                      AS nota_descripcion,
       h.resultado,
       NULL::varchar                                                      AS resultado_descripcion,
       NULL::varchar                                                      AS tipo,
       h.origen,
       NULL::numeric(5,2)                                                 AS pct_asistencia,
       NULL::numeric(6,2)                                                 AS creditos,
       NULL::integer                                                      AS id_acta,
       NULL::smallint                                                     AS folio,
       NULL::smallint                                                     AS renglon,
       NULL::integer                                                      AS evaluacion,
       NULL::integer                                                      AS comision,
       NULL::varchar                                                      AS nro_resolucion,
       NULL::date                                                         AS fecha_vigencia,
       LEAST(COALESCE(CAST(h.fecha AS date), CAST(:as_of AS date)), CAST(:as_of AS date)) AS fecha_cursor,
       NULL::date                                                         AS fecha_registro
FROM negocio.vw_hist_academica_basica h
WHERE h.fecha >= CAST(:start_value AS date) OR h.fecha IS NULL
