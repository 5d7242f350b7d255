-- target:   gold.mart_student_risk_features
-- grain:    alumno_key, anio_academico
-- upstream: gold.mart_student_academic_summary, gold.mart_student_engagement, silver.dim_student,
--           silver.dim_persona, silver.dim_census, silver.fact_student_status_history
-- test:     not_null(source_db, cohorte, anio_cerrado, total_cambios_estado, risk_score_heuristic)
-- test:     relationship(alumno_key, anio_academico -> gold.mart_student_academic_summary(alumno_key, anio_academico))
-- test:     expression(risk_score_heuristic BETWEEN 0 AND 11)
-- test:     expression(abandono_anio_siguiente IS NULL OR abandono_anio_siguiente IN (0, 1))
-- test:     expression(abandono_anio_siguiente IS NULL OR anio_cerrado)
-- test:     expression(edad_fin_anio IS NULL OR edad_fin_anio BETWEEN 10 AND 100) warn
-- Descriptive risk view for the dashboard: one row per student and academic year of the spine (students
-- without results are rows). Every input is as of the row's year end d = LEAST(end of February, as-of
-- date): so-far totals, age at d, the census valid at d; never today's status (D31, D33, D34).
-- risk_score_heuristic (0-11) is a fixed rule, not a model: 2 x riesgo_academico [tasa_aprobacion < 0.5]
-- + 2 x riesgo_asistencia [promedio_asistencia < 60] + 3 x riesgo_no_reinscripcion [no reinscription in
-- a year after the entry year] + 1 x riesgo_trabajo_excesivo [trabajo_hora_sem > 30]
-- + 2 x [variacion_tasa_aprobacion < -0.2] + 1 x [total_cambios_estado > 2]; a missing input scores 0.
-- abandono_anio_siguiente: 1 = not graduated by the end of year y+1 and no academic activity in y+1,
-- 0 = activity or graduated, NULL = y+1 not over at the as-of date. Descriptive, not a training label.
CREATE OR REPLACE TABLE gold.mart_student_risk_features AS
WITH base AS (
    SELECT a.*,
           LEAST(make_date(a.anio_academico + 1, 3, 1) - 1, getvariable('as_of')) AS fecha_corte,
           getvariable('as_of') AS as_of,
           s.persona_key, s.propuesta_key, s.propuesta_nombre, s.facultad_key, s.facultad_nombre,
           s.sede_nombre, s.tipo_sede, s.tipo_ingreso, s.edad_ingreso
    FROM gold.mart_student_academic_summary a
    JOIN silver.dim_student s ON s.alumno_key = a.alumno_key
),
-- The census valid at the row's cut-off date: a later re-survey never changes an earlier row.
censo AS (
    SELECT b.alumno_key, b.anio_academico, d.valid_from AS fecha_censo,
           d.estado_civil_desc, d.cantidad_hijos, d.trabajo_existe, d.trabajo_existe_desc, d.trabajo_hora_sem,
           d.beca, d.costeos_estudios_familiar, d.costeos_estudios_trabajo, d.costeos_estudios_beca,
           d.tecnologia_int_casa, d.tecnologia_pc_casa, d.nivel_estudio_previo, d.nivel_estudio_previo_desc,
           d.periodo_lectivo_departamento_desc, d.periodo_lectivo_provincia_desc, d.procedencia_provincia_desc
    FROM base b
    JOIN silver.dim_census d
      ON d.persona_key = b.persona_key
     AND d.valid_from <= b.fecha_corte
     AND (d.valid_to IS NULL OR b.fecha_corte <= d.valid_to)
    QUALIFY row_number() OVER (PARTITION BY b.alumno_key, b.anio_academico
                               ORDER BY d.valid_from DESC, d.dato_censal DESC) = 1
),
cambios AS (
    SELECT h.alumno_key,
           CAST(silver.anio_academico(CAST(h.fecha_cambio AS DATE)) AS INTEGER) AS anio_academico,
           count(*) AS cambios
    FROM silver.fact_student_status_history h
    WHERE CAST(h.fecha_cambio AS DATE) <= getvariable('as_of')
    GROUP BY ALL
),
cambios_acum AS (
    SELECT alumno_key, anio_academico,
           sum(cambios) OVER (PARTITION BY alumno_key ORDER BY anio_academico) AS cambios_acum
    FROM cambios
),
siguiente AS (
    SELECT a.alumno_key, a.anio_academico - 1 AS anio_academico, a.es_anio_egreso, e.actividad_academica
    FROM gold.mart_student_academic_summary a
    JOIN gold.mart_student_engagement e ON e.alumno_key = a.alumno_key AND e.anio_academico = a.anio_academico
),
filas AS (
    SELECT b.alumno_key, b.source_db, b.anio_academico, b.cohorte, b.anio_desde_ingreso, b.anio_cerrado,
           b.fecha_corte,
           b.propuesta_key, b.propuesta_nombre, b.facultad_key, b.facultad_nombre, b.sede_nombre, b.tipo_sede,
           b.tipo_ingreso, b.edad_ingreso,
           p.sexo, p.nacionalidad_desc,
           silver.anios_cumplidos(p.fecha_nacimiento, b.fecha_corte) AS edad_fin_anio,
           z.fecha_censo IS NOT NULL AS tiene_censo,
           z.fecha_censo, z.estado_civil_desc, z.cantidad_hijos, z.trabajo_existe, z.trabajo_existe_desc,
           z.trabajo_hora_sem, z.beca, z.costeos_estudios_familiar, z.costeos_estudios_trabajo,
           z.costeos_estudios_beca, z.tecnologia_int_casa, z.tecnologia_pc_casa, z.nivel_estudio_previo,
           z.nivel_estudio_previo_desc, z.periodo_lectivo_departamento_desc, z.periodo_lectivo_provincia_desc,
           z.procedencia_provincia_desc,
           b.total_evaluaciones, b.materias_cursadas, b.promedio_notas, b.nota_minima, b.desviacion_notas,
           b.materias_aprobadas, b.materias_reprobadas, b.tasa_aprobacion, b.tasa_reprobacion, b.tasa_ausentismo,
           b.total_evaluaciones_acum, b.materias_aprobadas_acum, b.materias_reprobadas_acum,
           b.materias_aprobadas_distintas_acum, b.promedio_historico, b.tasa_aprobacion_historica,
           b.variacion_promedio, b.variacion_tasa_aprobacion,
           g.promedio_asistencia, g.total_inasistencias, g.periodos_riesgo_asistencia, g.reinscripciones_anio,
           g.examenes_inscriptos, g.inscripciones_cursada, g.eventos_moodle, g.dias_activos_moodle,
           g.reinscripciones_acum, g.inscripciones_cursada_acum, g.actividad_academica, g.engagement_score,
           CAST(COALESCE(k.cambios_acum, 0) AS BIGINT)                           AS total_cambios_estado,
           CASE WHEN b.tasa_aprobacion < 0.5 THEN 1 ELSE 0 END                   AS riesgo_academico,
           CASE WHEN g.promedio_asistencia < 60 THEN 1 ELSE 0 END                AS riesgo_asistencia,
           -- Entrants do not reinscribe in their entry year, so that year never counts as a missing one.
           CASE WHEN b.anio_desde_ingreso > 0 AND g.reinscripciones_anio = 0 THEN 1 ELSE 0 END
                                                                                 AS riesgo_no_reinscripcion,
           CASE WHEN z.trabajo_hora_sem > 30 THEN 1 ELSE 0 END                   AS riesgo_trabajo_excesivo,
           CASE WHEN b.variacion_tasa_aprobacion < -0.2 THEN 1 ELSE 0 END        AS caida_tasa_aprobacion,
           CASE
               WHEN NOT b.as_of > make_date(b.anio_academico + 2, 3, 1) - 1 THEN NULL
               WHEN b.es_anio_egreso OR n.es_anio_egreso OR n.actividad_academica THEN 0
               ELSE 1
           END                                                                   AS abandono_anio_siguiente
    FROM base b
    JOIN gold.mart_student_engagement g ON g.alumno_key = b.alumno_key AND g.anio_academico = b.anio_academico
    LEFT JOIN silver.dim_persona p ON p.persona_key = b.persona_key
    LEFT JOIN censo z ON z.alumno_key = b.alumno_key AND z.anio_academico = b.anio_academico
    LEFT JOIN siguiente n ON n.alumno_key = b.alumno_key AND n.anio_academico = b.anio_academico
    ASOF LEFT JOIN cambios_acum k ON k.alumno_key = b.alumno_key AND b.anio_academico >= k.anio_academico
)
SELECT * EXCLUDE (caida_tasa_aprobacion, abandono_anio_siguiente),
       2 * riesgo_academico + 2 * riesgo_asistencia + 3 * riesgo_no_reinscripcion + riesgo_trabajo_excesivo
       + 2 * caida_tasa_aprobacion + CASE WHEN total_cambios_estado > 2 THEN 1 ELSE 0 END AS risk_score_heuristic,
       abandono_anio_siguiente
FROM filas;
