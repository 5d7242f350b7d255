-- target:   bronze.students
-- grain:    one row per (source_db, alumno)
-- upstream: negocio.sga_alumnos, sga_propuestas_aspira, sga_situacion_aspirante, sga_propuestas,
--           sga_planes_versiones, sga_ubicaciones, int_arau_instituciones, mug_localidades,
--           mug_dptos_partidos, mug_provincias
-- load:     snapshot (each run replaces this source's rows)
-- Every sga_alumnos row is kept (D29). Of the person's aspirant records for the same propuesta, the first
-- admitted one (resultado_asp A or P) is the entry, earliest inscription first, ties by id (D3): a later
-- admitted record is a readmission (cnt_readmisiones), not a new cohort. legajo only feeds
-- contactos.duckdb, the tutors' file (dwh/docs/PRIVACY.md).
SELECT a.alumno,
       a.persona,
       a.propuesta,
       sp.nombre                      AS propuesta_nombre,
       sp.codigo                      AS propuesta_codigo,
       a.plan_version                 AS plan_version_id,
       spv.nombre                     AS plan_version,
       a.ubicacion,
       su.nombre                      AS see_nombre,
       su.calle                       AS see_calle,
       su.numero                      AS see_numero,
       su.codigo_postal               AS see_codigo_postal,
       iai.nombre                     AS see_institucion,
       iai.institucion_nombre         AS see_institucion_p,
       ml.nombre                      AS see_localidad,
       mdp2.nombre                    AS see_dpto,
       mp.nombre                      AS see_provincia,
       a.modalidad,
       a.regular,
       a.calidad,
       a.cnt_readmisiones,
       (a.legajo IS NOT NULL)         AS tiene_legajo,
       asp.fecha_inscripcion          AS fecha_ingreso,
       asp.anio_academico::integer    AS anio_ingreso,
       asp.tipo_ingreso,
       asp.situacion_asp,
       asp.resultado_asp              AS aspirante_resultado,
       a.legajo
FROM negocio.sga_alumnos a
LEFT JOIN (
    -- One sort of the aspirant table and a hash join: a per-student lookup here grows quadratically.
    SELECT DISTINCT ON (pa.persona, pa.propuesta)
           pa.persona, pa.propuesta, pa.fecha_inscripcion, pa.anio_academico, pa.tipo_ingreso, pa.situacion_asp,
           sa.resultado_asp
    FROM negocio.sga_propuestas_aspira pa
    LEFT JOIN negocio.sga_situacion_aspirante sa ON sa.situacion_asp = pa.situacion_asp
    ORDER BY pa.persona, pa.propuesta, (sa.resultado_asp IN ('A', 'P')) IS TRUE DESC, pa.fecha_inscripcion,
             pa.propuesta_aspira
) asp ON asp.persona = a.persona AND asp.propuesta = a.propuesta
LEFT JOIN negocio.sga_propuestas sp          ON sp.propuesta = a.propuesta
LEFT JOIN negocio.sga_planes_versiones spv   ON spv.plan_version = a.plan_version
LEFT JOIN negocio.sga_ubicaciones su         ON su.ubicacion = a.ubicacion
LEFT JOIN negocio.int_arau_instituciones iai ON iai.institucion_araucano = su.institucion_araucano
LEFT JOIN negocio.mug_localidades ml         ON ml.localidad = su.localidad
LEFT JOIN negocio.mug_dptos_partidos mdp2    ON mdp2.dpto_partido = ml.dpto_partido
LEFT JOIN negocio.mug_provincias mp          ON mp.provincia = mdp2.provincia
-- Read by row versions (dwh/docs/CHANGE_DETECTION.md): the students whose row or aspirant rows were written since
-- the last load; a change to a program, plan version, site or place re-reads them all. Otherwise all of them.
WHERE NOT xid_mode()
   OR xid_changed(a)
   OR a.persona IN (SELECT pa2.persona FROM negocio.sga_propuestas_aspira pa2 WHERE xid_changed(pa2))
   OR EXISTS (SELECT 1 FROM negocio.sga_situacion_aspirante x1 WHERE xid_changed(x1))
   OR EXISTS (SELECT 1 FROM negocio.sga_propuestas x2 WHERE xid_changed(x2))
   OR EXISTS (SELECT 1 FROM negocio.sga_planes_versiones x3 WHERE xid_changed(x3))
   OR EXISTS (SELECT 1 FROM negocio.sga_ubicaciones x4 WHERE xid_changed(x4))
   OR EXISTS (SELECT 1 FROM negocio.int_arau_instituciones x5 WHERE xid_changed(x5))
   OR EXISTS (SELECT 1 FROM negocio.mug_localidades x6 WHERE xid_changed(x6))
   OR EXISTS (SELECT 1 FROM negocio.mug_dptos_partidos x7 WHERE xid_changed(x7))
   OR EXISTS (SELECT 1 FROM negocio.mug_provincias x8 WHERE xid_changed(x8))
