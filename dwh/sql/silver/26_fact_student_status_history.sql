-- target:   silver.fact_student_status_history
-- grain:    source_db, alumno, fecha_cambio
-- upstream: bronze.alumnos_hist_calidad
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     accepted_values(calidad: 'A', 'P') warn
-- test:     expression(valid_to IS NULL OR valid_to > valid_from)
-- Status history with validity intervals [valid_from, valid_to) and the current row flagged.
CREATE OR REPLACE TABLE silver.fact_student_status_history AS
SELECT source_db,
       alumno,
       fecha                                                                        AS fecha_cambio,
       silver.pseudonym(source_db, alumno)                                          AS alumno_key,
       calidad,
       motivo_calidad,
       row_number() OVER (PARTITION BY source_db, alumno ORDER BY fecha)            AS nro_cambio,
       fecha                                                                        AS valid_from,
       lead(fecha) OVER (PARTITION BY source_db, alumno ORDER BY fecha)             AS valid_to,
       lead(fecha) OVER (PARTITION BY source_db, alumno ORDER BY fecha) IS NULL     AS es_actual
FROM bronze.alumnos_hist_calidad;
