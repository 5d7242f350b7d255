-- target:   gold.gold_tft_static_features
-- grain:    alumno_key
-- upstream: silver.dim_student, silver.dim_persona, silver.dim_census, gold.gold_tft_known_future
-- test:     not_null(fuente, cohorte, propuesta, sede, sexo, edad_ingreso, edad_ingreso_missing)
-- test:     relationship(primer_time_idx -> gold.gold_tft_known_future(time_idx))
-- One row per student whose entry semester is closed, with only what is known at entry: the program,
-- site and entry type of the enrolment, age at entry, and the census valid on the entry semester's
-- as-of date (never the latest census, never today's status: D33). No identifiers: alumno_key is
-- silver's pseudonymous student_key; no birth date, no addresses, no disability data (D36).
CREATE OR REPLACE TABLE gold.gold_tft_static_features AS
WITH entrada AS (
    SELECT s.*,
           gold.semestre_idx(s.anio_ingreso,
                             CASE WHEN s.fecha_ingreso >= make_date(s.anio_ingreso, 8, 1) THEN 2 ELSE 1 END)
               AS primer_time_idx
    FROM silver.dim_student s
),
con_corte AS (
    SELECT e.*, k.as_of_date AS corte_ingreso
    FROM entrada e
    JOIN gold.gold_tft_known_future k ON k.time_idx = e.primer_time_idx AND k.cerrado
),
censo AS (
    SELECT c.student_key, d.*
    FROM con_corte c
    JOIN silver.dim_census d
      ON d.persona_key = c.persona_key
     AND d.valid_from <= c.corte_ingreso
     AND (d.valid_to IS NULL OR c.corte_ingreso <= d.valid_to)
    -- two censuses of one day: dim_census gives the loser an empty interval, this keeps the winner
    QUALIFY row_number() OVER (PARTITION BY c.student_key ORDER BY d.valid_from DESC, d.dato_censal DESC) = 1
)
SELECT c.student_key                                      AS alumno_key,
       c.primer_time_idx,
       c.corte_ingreso,
       gold.cat(c.source_db)                              AS fuente,
       gold.cat(c.anio_ingreso)                           AS cohorte,
       gold.cat(c.propuesta_nombre)                       AS propuesta,
       gold.cat(c.facultad_nombre)                        AS facultad,
       gold.cat(c.sede_nombre)                            AS sede,
       gold.cat(c.tipo_sede)                              AS tipo_sede,
       gold.cat(c.tipo_ingreso)                           AS tipo_ingreso,
       gold.cat(p.sexo)                                   AS sexo,
       gold.cat(p.nacionalidad_desc)                      AS nacionalidad,
       CAST(COALESCE(c.edad_ingreso, 0) AS DOUBLE)        AS edad_ingreso,
       gold.flag(c.edad_ingreso IS NULL)                  AS edad_ingreso_missing,
       gold.flag(z.dato_censal IS NOT NULL)               AS censo_ingreso_disponible,
       gold.cat(z.estado_civil_desc)                      AS estado_civil,
       CAST(COALESCE(z.cantidad_hijos, 0) AS DOUBLE)      AS cantidad_hijos,
       gold.flag(z.cantidad_hijos IS NULL)                AS cantidad_hijos_missing,
       gold.cat(z.vive_con)                               AS vive_con,
       gold.cat(z.cobertura_salud)                        AS cobertura_salud,
       gold.cat(z.tipo_vivienda_desc)                     AS tipo_vivienda,
       gold.cat(z.trabajo_existe_desc)                    AS trabaja_ingreso,
       CAST(COALESCE(z.trabajo_hora_sem, 0) AS DOUBLE)    AS horas_trabajo_ingreso,
       gold.flag(z.trabajo_hora_sem IS NULL)              AS horas_trabajo_ingreso_missing,
       gold.flag(z.beca)                                  AS beca_ingreso,
       gold.flag(z.costeos_estudios_familiar)             AS costeo_familiar,
       gold.flag(z.costeos_estudios_trabajo)              AS costeo_trabajo,
       gold.flag(z.costeos_estudios_beca)                 AS costeo_beca,
       gold.flag(z.costeos_estudios_plan_social)          AS costeo_plan_social,
       gold.flag(z.tecnologia_int_casa)                   AS internet_casa,
       gold.flag(z.tecnologia_pc_casa)                    AS pc_casa,
       gold.flag(z.tecnologia_int_movil)                  AS internet_movil,
       gold.cat(z.nivel_estudio_previo_desc)              AS nivel_estudio_previo,
       gold.cat(z.periodo_lectivo_provincia_desc)         AS provincia_residencia,
       gold.cat(z.procedencia_provincia_desc)             AS provincia_procedencia,
       gold.flag(z.periodo_lectivo_localidad <> z.procedencia_localidad) AS se_mudo_para_estudiar
FROM con_corte c
LEFT JOIN silver.dim_persona p ON p.persona_key = c.persona_key
LEFT JOIN censo z ON z.student_key = c.student_key
ORDER BY alumno_key;
