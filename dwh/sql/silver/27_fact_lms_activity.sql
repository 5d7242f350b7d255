-- target:   silver.fact_lms_activity
-- grain:    source_db, userid, courseid, dia
-- upstream: bronze.moodle_engagement, bronze.moodle_courses, silver.map_moodle_user_dia
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     not_null(alumno_key)
-- Moodle activity per student, course and local day (aggregated from the log in the source); each day
-- belongs to the student map_moodle_user_dia gives it (a person's second career never takes the first
-- one's past); only accounts linked to a student (the others are counted in map_moodle_user).
CREATE OR REPLACE TABLE silver.fact_lms_activity AS
SELECT e.source_db,
       e.userid,
       e.courseid,
       e.dia,
       m.alumno_key,
       c.shortname                                        AS curso_nombre_corto,
       CAST(silver.anio_academico(e.dia) AS INTEGER)      AS anio_academico,
       CAST(silver.cuatrimestre(e.dia) AS INTEGER)        AS cuatrimestre,
       e.eventos,
       e.acciones_distintas,
       e.recursos_distintos,
       e.primer_evento,
       e.ultimo_evento
FROM bronze.moodle_engagement e
JOIN silver.map_moodle_user_dia m ON m.source_db = e.source_db AND m.userid = e.userid AND m.dia = e.dia
LEFT JOIN bronze.moodle_courses c ON c.source_db = e.source_db AND c.courseid = e.courseid;
