-- target:   silver.dim_census
-- grain:    source_db, dato_censal
-- upstream: bronze.census
-- test:     unique(census_key)
-- test:     relationship(persona_key -> silver.dim_persona(persona_key))
-- test:     expression(valid_to IS NULL OR valid_to >= valid_from - 1)
-- Every census of a person, with its validity: from its survey date to the day before the person's next
-- census (open when it is the latest). Two censuses of one day: the higher dato_censal wins, the other
-- gets an empty interval. The census valid at date d: valid_from <= d AND (valid_to IS NULL OR d <= valid_to).
-- S/N flags become booleans.
CREATE OR REPLACE TABLE silver.dim_census AS
WITH ordered AS (
    SELECT c.*,
           lead(c.fecha) OVER (PARTITION BY c.source_db, c.persona ORDER BY c.fecha, c.dato_censal) AS siguiente
    FROM bronze.census c
)
SELECT silver.pseudonym(source_db, dato_censal)                 AS census_key,
       source_db,
       dato_censal,
       persona,
       silver.pseudonym(source_db, persona)                     AS persona_key,
       fecha                                                    AS valid_from,
       siguiente - 1                                            AS valid_to,
       fecha <= getvariable('as_of') AND (siguiente IS NULL OR getvariable('as_of') < siguiente)
                                                                AS es_vigente,
       fecha_actualizacion,
       estado_civil, estado_civil_desc,
       union_pareja = 'S'                                       AS union_pareja,
       situacion_padre, situacion_madre,
       cobertura_salud, cantidad_hijos, cantidad_familia,
       tipo_vivienda, tipo_vivienda_desc, vive_con,
       periodo_lectivo_localidad, periodo_lectivo_localidad_desc,
       periodo_lectivo_departamento, periodo_lectivo_departamento_desc, periodo_lectivo_provincia_desc,
       procedencia_localidad, procedencia_localidad_desc,
       procedencia_departamento, procedencia_departamento_desc, procedencia_provincia_desc,
       trabajo_existe, trabajo_existe_desc, trabajo_hace, trabajo_carrera, trabajo_hora_sem,
       beca = 'S'                                               AS beca,
       costeos_estudios_familiar = 'S'                          AS costeos_estudios_familiar,
       costeos_estudios_plan_social = 'S'                       AS costeos_estudios_plan_social,
       costeos_estudios_trabajo = 'S'                           AS costeos_estudios_trabajo,
       costeos_estudios_beca = 'S'                              AS costeos_estudios_beca,
       costeos_estudios_otro = 'S'                              AS costeos_estudios_otro,
       tecnologia_int_casa = 'S'                                AS tecnologia_int_casa,
       tecnologia_pc_casa = 'S'                                 AS tecnologia_pc_casa,
       tecnologia_int_movil = 'S'                               AS tecnologia_int_movil,
       deportes = 'S'                                           AS deportes,
       disc_auditiva = 'S'                                      AS disc_auditiva,
       disc_visual = 'S'                                        AS disc_visual,
       disc_motora = 'S'                                        AS disc_motora,
       disc_otra = 'S'                                          AS disc_otra,
       nivel_estudio                                            AS nivel_estudio_previo,
       nivel_estudio_desc                                       AS nivel_estudio_previo_desc,
       institucion                                              AS institucion_previa_id,
       institucion_desc                                         AS institucion_previa_desc,
       colegio                                                  AS colegio_secundario_id,
       colegio_desc                                             AS colegio_secundario_desc
FROM ordered;
