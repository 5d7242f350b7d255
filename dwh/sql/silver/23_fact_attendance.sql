-- target:   silver.fact_attendance
-- grain:    source_db, sistema, curso, participante, fecha
-- upstream: bronze.attendance, bronze.moodle_attendance, silver.map_moodle_user_dia, silver.seed_settings
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     accepted_values(sistema: 'guarani', 'moodle')
-- test:     not_null(alumno_key)
-- test:     expression(porc_asistencia IS NULL OR porc_asistencia BETWEEN 0 AND 100)
-- Attendance per student and course from both systems, each row dated by the day it is known (fecha).
-- Guaraní keeps an accumulated count per comisión and no history of it (curso = comision, participante
-- = alumno): one row, final on the last day of classes (fecha = fin_dictado, November for an annual
-- course); cuatrimestre is the period's first one. Moodle keeps every session: one row per course,
-- account and session day (curso = courseid, participante = userid, fecha = the session's local day),
-- attributed to the student map_moodle_user_dia gives that day; accounts linked to no student are left
-- out. Thresholds from seed_settings.
CREATE OR REPLACE TABLE silver.fact_attendance AS
WITH guarani AS (
    SELECT source_db, 'guarani' AS sistema, comision AS curso, alumno AS participante,
           COALESCE(fin_dictado, periodo_fin)                            AS fecha,
           silver.pseudonym(source_db, alumno)                           AS alumno_key,
           silver.surrogate(source_db, elemento)                         AS elemento_key,
           CAST(anio_academico AS INTEGER)                               AS anio_academico,
           CAST(silver.cuatrimestre(periodo_inicio) AS INTEGER)           AS cuatrimestre,
           total_asistencias + total_inasistencias                       AS sesiones,
           total_asistencias                                             AS asistencias,
           total_inasistencias                                           AS inasistencias,
           CAST(porc_asistencia AS DOUBLE)                               AS porc_asistencia,
           libre = 'S'                                                   AS libre
    FROM bronze.attendance
),
moodle AS (
    SELECT a.source_db, 'moodle' AS sistema, a.courseid AS curso, a.userid AS participante,
           a.fecha_sesion                                                AS fecha,
           m.alumno_key,
           CAST(NULL AS VARCHAR)                                         AS elemento_key,
           CAST(silver.anio_academico(a.fecha_sesion) AS INTEGER)        AS anio_academico,
           CAST(silver.cuatrimestre(a.fecha_sesion) AS INTEGER)          AS cuatrimestre,
           count(*)                                                      AS sesiones,
           count(*) FILTER (WHERE a.estado_puntaje > 0)                  AS asistencias,
           count(*) FILTER (WHERE COALESCE(a.estado_puntaje, 0) = 0)     AS inasistencias,
           100.0 * count(*) FILTER (WHERE a.estado_puntaje > 0) / count(*) AS porc_asistencia,
           NULL::BOOLEAN                                                 AS libre
    FROM bronze.moodle_attendance a
    JOIN silver.map_moodle_user_dia m
      ON m.source_db = a.source_db AND m.userid = a.userid AND m.dia = a.fecha_sesion
    GROUP BY a.source_db, a.courseid, a.userid, a.fecha_sesion, m.alumno_key
),
both_systems AS (
    SELECT * FROM guarani UNION ALL SELECT * FROM moodle
)
SELECT *,
       CAST(porc_asistencia >= CAST(silver.setting('asistencia_minima_pct') AS DOUBLE) AS INTEGER)
                                                                         AS cumple_asistencia_flag,
       CAST(porc_asistencia < CAST(silver.setting('asistencia_riesgo_pct') AS DOUBLE) AS INTEGER)
                                                                         AS riesgo_asistencia_flag
FROM both_systems;
