-- target:   silver.fact_course_enrollment
-- grain:    source_db, inscripcion
-- upstream: bronze.course_inscriptions, bronze.academic, silver.seed_result_codes
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     relationship(elemento_key -> silver.dim_elemento(elemento_key))
-- test:     relationship(plan_version_key -> silver.dim_plan_version(plan_version_key))
-- test:     relationship(anio_academico -> silver.dim_periodo(anio_academico))
-- test:     expression(aprobada_flag + reprobada_flag + ausente_flag <= 1)
-- test:     expression(silver.nota_reconocida(nota_cursada)) warn
-- One row per cursada inscription, with its result from the comisión's regularity or promotion acta
-- (NULL while it has none). Result flags come from seed_result_codes and are mutually exclusive.
-- fecha_resultado is the result's day (the last class); fecha_registro_resultado the day its acta was
-- recorded; fecha_conocido_resultado the later of the two, the day the result was known in Guaraní.
-- es_baja is the inscription's status today: Guaraní keeps no date of a cancellation.
CREATE OR REPLACE TABLE silver.fact_course_enrollment AS
SELECT ci.source_db,
       ci.inscripcion_id                                                   AS inscripcion,
       silver.pseudonym(ci.source_db, ci.alumno)                           AS alumno_key,
       silver.surrogate(ci.source_db, ci.elemento_id)                      AS elemento_key,
       silver.surrogate(ci.source_db, ci.plan_version_id)                  AS plan_version_key,
       ci.comision,
       ci.periodo_lectivo,
       ci.periodo_lectivo_nombre,
       CAST(COALESCE(ci.anio_academico, silver.anio_academico(ci.periodo_inicio),
                     silver.anio_academico(ci.fecha_inscripcion)) AS INTEGER) AS anio_academico,
       CAST(silver.cuatrimestre(COALESCE(ci.periodo_inicio, CAST(ci.fecha_inscripcion AS DATE))) AS INTEGER)
                                                                           AS cuatrimestre,
       ci.periodo_inicio,
       ci.fecha_inscripcion,
       ci.estado_inscripcion,
       ci.estado_inscripcion = 'B'                                         AS es_baja,
       ac.resultado_cursada,
       rc.categoria                                                        AS resultado_categoria,
       ac.nota_cursada,
       silver.nota_numerica(ac.nota_cursada)                               AS nota_cursada_num,
       ac.fecha_nota                                                       AS fecha_resultado,
       ac.fecha_registro_nota                                              AS fecha_registro_resultado,
       GREATEST(ac.fecha_nota, COALESCE(ac.fecha_registro_nota, ac.fecha_nota)) AS fecha_conocido_resultado,
       COALESCE(ac.fin_dictado, ac.periodo_fin)                            AS fin_dictado,
       ac.origen_acta,
       CAST(COALESCE(rc.categoria = 'aprobado', false) AS INTEGER)         AS aprobada_flag,
       CAST(COALESCE(rc.categoria = 'reprobado', false) AS INTEGER)        AS reprobada_flag,
       CAST(COALESCE(rc.categoria = 'ausente', false) AS INTEGER)          AS ausente_flag
FROM bronze.course_inscriptions ci
LEFT JOIN bronze.academic ac ON ac.source_db = ci.source_db AND ac.inscripcion = ci.inscripcion_id
LEFT JOIN silver.seed_result_codes rc ON rc.resultado = ac.resultado_cursada;
