-- target:   silver.fact_academic_performance
-- grain:    source_db, dwh_pk
-- upstream: bronze.historia_academica, silver.seed_result_codes
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     relationship(elemento_key -> silver.dim_elemento(elemento_key))
-- test:     relationship(instancia_key -> silver.dim_instancia(instancia_key))
-- test:     relationship(anio_academico -> silver.dim_periodo(anio_academico))
-- test:     expression(aprobado_flag + reprobado_flag + ausente_flag <= 1)
-- test:     expression(resultado IS NULL OR resultado_categoria IS NOT NULL) warn
-- test:     expression(silver.nota_reconocida(nota)) warn
-- Final results (exams, promotions) of the academic history. Codes map through seed_result_codes
-- (default approved = A, P; failed = R, N; absent = U): the three flags are mutually exclusive; an unknown
-- code sets none and is reported. Grades parse with ',' or '.' decimals or through seed_text_grades;
-- the count of unparsed grades is the warn test above. fecha_evaluacion is the exam's (or promotion's) day;
-- fecha_registro the day its acta was recorded; fecha_conocido the later of the two, when Guaraní knew it.
CREATE OR REPLACE TABLE silver.fact_academic_performance AS
SELECT h.source_db,
       h.dwh_pk,
       silver.pseudonym(h.source_db, h.alumno)                              AS alumno_key,
       silver.surrogate(h.source_db, h.elemento)                            AS elemento_key,
       silver.surrogate(h.source_db, h.plan_version)                        AS plan_version_key,
       silver.surrogate(h.source_db, h.instancia)                           AS instancia_key,
       CAST(COALESCE(h.anio_academico, silver.anio_academico(h.fecha)) AS INTEGER) AS anio_academico,
       CAST(silver.cuatrimestre(h.fecha) AS INTEGER)                         AS cuatrimestre,
       h.fecha                                                               AS fecha_evaluacion,
       h.fecha_registro,
       GREATEST(h.fecha, COALESCE(h.fecha_registro, h.fecha))               AS fecha_conocido,
       h.periodo_lectivo,
       h.nota,
       silver.nota_numerica(h.nota)                                          AS nota_num,
       h.nota_descripcion,
       h.resultado,
       rc.categoria                                                          AS resultado_categoria,
       h.resultado_descripcion,
       h.tipo                                                                AS tipo_evaluacion,
       h.origen,
       h.pct_asistencia,
       h.creditos,
       CAST(COALESCE(rc.categoria = 'aprobado', false) AS INTEGER)           AS aprobado_flag,
       CAST(COALESCE(rc.categoria = 'reprobado', false) AS INTEGER)          AS reprobado_flag,
       CAST(COALESCE(rc.categoria = 'ausente', false) AS INTEGER)            AS ausente_flag
FROM bronze.historia_academica h
LEFT JOIN silver.seed_result_codes rc ON rc.resultado = h.resultado
WHERE h.alumno IS NOT NULL;
