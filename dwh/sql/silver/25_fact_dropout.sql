-- target:   silver.fact_dropout
-- grain:    source_db, alumno, evento_id
-- upstream: bronze.perdida_regularidades, bronze.alumnos_hist_calidad, bronze.graduates,
--           bronze.course_inscriptions, bronze.exam_inscriptions, bronze.historia_academica,
--           bronze.reinscripciones, bronze.academic
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     accepted_values(tipo_evento: 'perdida_regularidad', 'reincorporacion', 'egreso', 'ultima_actividad')
-- What happened, not a label (the label is defined in gold): losses of regularity, reincorporations
-- (calidad back from P to A after a loss), graduations, and each student's last academic activity
-- (course or exam inscription, result, reinscription). fecha_conocido is the day Guaraní knew it: a
-- graduation is dated by its last exam (fecha_egreso) but its certificate comes months later, and the
-- student's first change to calidad P on or after that exam marks when; without one, the event's day.
CREATE OR REPLACE TABLE silver.fact_dropout AS
WITH status AS (
    SELECT source_db, alumno, fecha, calidad, motivo_calidad,
           lag(calidad) OVER (PARTITION BY source_db, alumno ORDER BY fecha) AS calidad_anterior
    FROM bronze.alumnos_hist_calidad
),
activity AS (
    SELECT source_db, alumno, CAST(fecha_inscripcion AS DATE) AS fecha FROM bronze.course_inscriptions
    UNION ALL SELECT source_db, alumno, CAST(fecha_inscripcion AS DATE) FROM bronze.exam_inscriptions
    UNION ALL SELECT source_db, alumno, fecha FROM bronze.historia_academica
    UNION ALL SELECT source_db, alumno, fecha_nota FROM bronze.academic
    UNION ALL SELECT source_db, alumno, CAST(fecha_reinscripcion AS DATE) FROM bronze.reinscripciones
),
events AS (
    SELECT source_db, alumno, 'perdida_regularidad' AS tipo_evento,
           'perdida_regularidad:' || perdida_regularidad AS evento_id, fecha AS fecha_evento,
           CAST(anio_academico AS INTEGER) AS anio_academico, fecha_control_desde, fecha_control_hasta
    FROM bronze.perdida_regularidades
    UNION ALL
    SELECT source_db, alumno, 'reincorporacion', 'reincorporacion:' || strftime(fecha, '%Y%m%d%H%M%S'),
           CAST(fecha AS DATE), NULL, NULL, NULL
    FROM status WHERE calidad = 'A' AND calidad_anterior = 'P'
    UNION ALL
    SELECT source_db, alumno, 'egreso', 'egreso:' || certificado_otorg, fecha_egreso, NULL, NULL, NULL
    FROM bronze.graduates
    UNION ALL
    SELECT source_db, alumno, 'ultima_actividad', 'ultima_actividad', max(fecha), NULL, NULL, NULL
    FROM activity WHERE fecha IS NOT NULL GROUP BY source_db, alumno
)
SELECT e.source_db,
       e.evento_id,
       silver.pseudonym(e.source_db, e.alumno)                                 AS alumno_key,
       e.alumno,
       e.tipo_evento,
       e.fecha_evento,
       CASE WHEN e.tipo_evento = 'egreso'
            THEN COALESCE((SELECT min(CAST(h.fecha AS DATE)) FROM bronze.alumnos_hist_calidad h
                           WHERE h.source_db = e.source_db AND h.alumno = e.alumno AND h.calidad = 'P'
                             AND CAST(h.fecha AS DATE) >= e.fecha_evento), e.fecha_evento)
            ELSE e.fecha_evento END                                             AS fecha_conocido,
       CAST(COALESCE(e.anio_academico, silver.anio_academico(e.fecha_evento)) AS INTEGER) AS anio_academico,
       CAST(silver.cuatrimestre(e.fecha_evento) AS INTEGER)                    AS cuatrimestre,
       e.fecha_control_desde,
       e.fecha_control_hasta
FROM events e;
