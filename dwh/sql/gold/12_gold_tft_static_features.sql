-- target:   gold.gold_tft_static_features
-- grain:    alumno_key
-- upstream: silver.dim_student, silver.dim_persona, silver.cobertura_fuentes, gold.gold_tft_known_future
-- test:     not_null(fuente, cohorte, propuesta, sede, sexo, edad_ingreso, edad_ingreso_missing, historia_migrada)
-- test:     relationship(primer_time_idx -> gold.gold_tft_known_future(time_idx))
-- test:     expression(primer_time_idx >= time_idx_ingreso)
-- One row per student whose first semester with records is closed, with only what is known at entry and
-- never changes after it: the program, site and entry type of the enrolment, sex, nationality and age at
-- entry. The census is not here: Guaraní edits its answers in place and keeps no history, so a later
-- build cannot know what a census said on a past day (GOLD_RULES.md); the marts keep it. Never today's
-- status (D33). time_idx_ingreso is the entry semester; primer_time_idx, where the student's spine
-- starts, is the later of it and the first semester the source has detailed records for
-- (silver.cobertura_fuentes): history migrated from an older system has cohorts older than its records,
-- and historia_migrada says so. No identifiers: alumno_key is silver's pseudonymous alumno_key; no birth
-- date, no addresses, no disability data (D36).
CREATE OR REPLACE TABLE gold.gold_tft_static_features AS
WITH entrada AS (
    SELECT s.*,
           gold.semestre_idx(s.anio_ingreso,
                             CASE WHEN s.fecha_ingreso >= make_date(s.anio_ingreso, 8, 1) THEN 2 ELSE 1 END)
               AS time_idx_ingreso,
           gold.semestre_idx(c.detalle_desde_anio, c.detalle_desde_cuatrimestre) AS time_idx_detalle
    FROM silver.dim_student s
    LEFT JOIN silver.cobertura_fuentes c ON c.source_db = s.source_db
),
inicio AS (
    SELECT *, GREATEST(time_idx_ingreso, COALESCE(time_idx_detalle, time_idx_ingreso)) AS primer_time_idx
    FROM entrada
),
con_corte AS (
    SELECT e.*, k.as_of_date AS corte_ingreso
    FROM inicio e
    JOIN gold.gold_tft_known_future k ON k.time_idx = e.primer_time_idx AND k.cerrado
)
SELECT c.alumno_key                                      AS alumno_key,
       c.primer_time_idx,
       c.time_idx_ingreso,
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
       gold.flag(c.primer_time_idx > c.time_idx_ingreso)  AS historia_migrada
FROM con_corte c
LEFT JOIN silver.dim_persona p ON p.persona_key = c.persona_key
ORDER BY alumno_key;
