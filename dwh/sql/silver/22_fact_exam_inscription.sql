-- target:   silver.fact_exam_inscription
-- grain:    source_db, inscripcion
-- upstream: bronze.exam_inscriptions
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     relationship(elemento_key -> silver.dim_elemento(elemento_key))
-- test:     relationship(instancia_key -> silver.dim_instancia(instancia_key))
-- test:     relationship(anio_academico -> silver.dim_periodo(anio_academico))
-- The academic year and cuatrimestre are those of the exam date (a February exam belongs to the
-- previous academic year's second cuatrimestre).
CREATE OR REPLACE TABLE silver.fact_exam_inscription AS
SELECT source_db,
       inscripcion_id                                             AS inscripcion,
       silver.pseudonym(source_db, alumno)                        AS alumno_key,
       silver.surrogate(source_db, elemento_id)                   AS elemento_key,
       silver.surrogate(source_db, instancia_id)                  AS instancia_key,
       silver.surrogate(source_db, plan_version_id)               AS plan_version_key,
       llamado_mesa,
       fecha_mesa_examen,
       CAST(silver.anio_academico(fecha_mesa_examen) AS INTEGER)  AS anio_academico,
       CAST(silver.cuatrimestre(fecha_mesa_examen) AS INTEGER)    AS cuatrimestre,
       fecha_inscripcion,
       estado_inscripcion,
       instancia_desc,
       catedra_cod
FROM bronze.exam_inscriptions;
