-- target:   bronze.census
-- grain:    one row per (source_db, dato_censal) — every census of every student, with its date (D4, D27)
-- upstream: negocio.mdp_datos_censales, mdp_datos_personales, mdp_datos_economicos, mdp_datos_actividades,
--           mdp_datos_discapacidad, mdp_datos_estudios, sga_alumnos, mdp_estados_civiles, mdp_tipo_vivienda,
--           mdp_trabajo_existe, mdp_nivel_estudio, sga_instituciones, sga_colegios_secundarios,
--           mug_localidades, mug_dptos_partidos, mug_provincias
-- load:     incremental on fecha_cambio (latest of survey and update date, capped at the as-of date), merge on the key
-- mdp_datos_estudios has no dato_censal: the person's highest level of previous studies finished by the
-- census's survey date is taken (latest graduation, then highest id; a study without a date counts). Street-level addresses are not extracted (D36); places are kept as
-- localidad, departamento (from the localidad, not from the free-text apartment field) and provincia.
SELECT mpc.dato_censal,
       mpc.persona,
       mpc.fecha_relevamiento                      AS fecha,
       mpc.fecha_actualizacion,
       LEAST(GREATEST(mpc.fecha_relevamiento, COALESCE(mpc.fecha_actualizacion, mpc.fecha_relevamiento)),
             CAST(:cursor_cap AS date))                         AS fecha_cambio,
       mdp.estado_civil,
       mec.descripcion                             AS estado_civil_desc,
       mdp.unido_hecho                             AS union_pareja,
       mdp.situacion_padre,
       mdp.situacion_madre,
       mdp.cobertura_salud,
       mdp.cantidad_hijos,
       mdp.cantidad_familia,
       mdp.tipo_vivienda,
       mtv.descripcion                             AS tipo_vivienda_desc,
       mdp.vive_con,
       mdp.periodo_lectivo_localidad,
       pll.nombre                                  AS periodo_lectivo_localidad_desc,
       pll.dpto_partido                            AS periodo_lectivo_departamento,
       pld.nombre                                  AS periodo_lectivo_departamento_desc,
       plp.nombre                                  AS periodo_lectivo_provincia_desc,
       mdp.procedencia_localidad,
       prl.nombre                                  AS procedencia_localidad_desc,
       prl.dpto_partido                            AS procedencia_departamento,
       prd.nombre                                  AS procedencia_departamento_desc,
       prp.nombre                                  AS procedencia_provincia_desc,
       mde.trabajo_existe,
       mte.descripcion                             AS trabajo_existe_desc,
       mde.trabajo_hace,
       mde.trabajo_carrera,
       mde.trabajo_hora_sem,
       mde.beca,
       mde.costeo_estudios_familiar                AS costeos_estudios_familiar,
       mde.costeo_estudios_plan_social             AS costeos_estudios_plan_social,
       mde.costeo_estudios_trabajo                 AS costeos_estudios_trabajo,
       mde.costeo_estudios_beca                    AS costeos_estudios_beca,
       mde.costeo_estudios_otro                    AS costeos_estudios_otro,
       mda.tecnologia_int_casa,
       mda.tecnologia_pc_casa,
       mda.deportes,
       mda.tecnologia_int_movil,
       mdd.disc_auditiva,
       mdd.disc_visual,
       mdd.disc_motora,
       mdd.disc_otra,
       est.nivel_estudio,
       mne.descripcion                             AS nivel_estudio_desc,
       est.institucion,
       si.nombre_abreviado                         AS institucion_desc,
       est.colegio,
       scs.nombre                                  AS colegio_desc,
       est.fecha_egreso                            AS fecha_egreso_estudios
FROM negocio.mdp_datos_censales mpc
LEFT JOIN negocio.mdp_datos_personales mdp    ON mdp.dato_censal = mpc.dato_censal
LEFT JOIN negocio.mdp_datos_economicos mde    ON mde.dato_censal = mpc.dato_censal
LEFT JOIN negocio.mdp_datos_actividades mda   ON mda.dato_censal = mpc.dato_censal
LEFT JOIN negocio.mdp_datos_discapacidad mdd  ON mdd.dato_censal = mpc.dato_censal
LEFT JOIN LATERAL (
    SELECT e.nivel_estudio, e.institucion, e.colegio, e.fecha_egreso
    FROM negocio.mdp_datos_estudios e
    WHERE e.persona = mpc.persona
      AND (e.fecha_egreso IS NULL OR CAST(e.fecha_egreso AS date) <= CAST(mpc.fecha_relevamiento AS date))
    ORDER BY e.nivel_estudio DESC, e.fecha_egreso DESC NULLS LAST, e.dato_estudio DESC
    LIMIT 1
) est ON TRUE
LEFT JOIN negocio.mdp_estados_civiles mec       ON mec.estado_civil = mdp.estado_civil
LEFT JOIN negocio.mdp_tipo_vivienda mtv         ON mtv.tipo_vivienda = mdp.tipo_vivienda
LEFT JOIN negocio.mdp_trabajo_existe mte        ON mte.trabajo_existe = mde.trabajo_existe
LEFT JOIN negocio.mdp_nivel_estudio mne         ON mne.nivel_estudio = est.nivel_estudio
LEFT JOIN negocio.sga_instituciones si          ON si.institucion = est.institucion
LEFT JOIN negocio.sga_colegios_secundarios scs  ON scs.colegio = est.colegio
LEFT JOIN negocio.mug_localidades pll           ON pll.localidad = mdp.periodo_lectivo_localidad
LEFT JOIN negocio.mug_dptos_partidos pld        ON pld.dpto_partido = pll.dpto_partido
LEFT JOIN negocio.mug_provincias plp            ON plp.provincia = pld.provincia
LEFT JOIN negocio.mug_localidades prl           ON prl.localidad = mdp.procedencia_localidad
LEFT JOIN negocio.mug_dptos_partidos prd        ON prd.dpto_partido = prl.dpto_partido
LEFT JOIN negocio.mug_provincias prp            ON prp.provincia = prd.provincia
-- By row versions (dwh/docs/CHANGE_DETECTION.md): a census whose own rows (personal, economic, activities,
-- disability) were written since the last load, or whose person's studies or student rows were; a change to
-- any code table (descriptions, places) re-reads every census, since such changes are rare and touch many.
WHERE (mpc.fecha_relevamiento >= CAST(:start_value AS date) OR mpc.fecha_actualizacion >= CAST(:start_value AS date)
       OR xid_changed(mpc) OR xid_changed(mdp) OR xid_changed(mde) OR xid_changed(mda) OR xid_changed(mdd)
       OR mpc.persona IN (SELECT e2.persona FROM negocio.mdp_datos_estudios e2 WHERE xid_changed(e2)
                          UNION ALL
                          SELECT a2.persona FROM negocio.sga_alumnos a2 WHERE xid_changed(a2))
       OR EXISTS (SELECT 1 FROM negocio.mdp_estados_civiles mec2 WHERE xid_changed(mec2))
       OR EXISTS (SELECT 1 FROM negocio.mdp_tipo_vivienda mtv2 WHERE xid_changed(mtv2))
       OR EXISTS (SELECT 1 FROM negocio.mdp_trabajo_existe mte2 WHERE xid_changed(mte2))
       OR EXISTS (SELECT 1 FROM negocio.mdp_nivel_estudio mne2 WHERE xid_changed(mne2))
       OR EXISTS (SELECT 1 FROM negocio.sga_instituciones si2 WHERE xid_changed(si2))
       OR EXISTS (SELECT 1 FROM negocio.sga_colegios_secundarios scs2 WHERE xid_changed(scs2))
       OR EXISTS (SELECT 1 FROM negocio.mug_localidades loc2 WHERE xid_changed(loc2))
       OR EXISTS (SELECT 1 FROM negocio.mug_dptos_partidos dpt2 WHERE xid_changed(dpt2))
       OR EXISTS (SELECT 1 FROM negocio.mug_provincias prv2 WHERE xid_changed(prv2)))
  AND EXISTS (SELECT 1 FROM negocio.sga_alumnos a WHERE a.persona = mpc.persona)
