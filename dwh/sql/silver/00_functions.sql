-- target:   silver.fn_calendar
-- grain:    -
-- upstream: silver.seed_settings, silver.seed_text_grades
-- The one academic calendar of every silver and gold table, and small helpers (macros, no table).
-- Academic year: March to February. Cuatrimestre 1 = March-July, 2 = August-February.
CREATE OR REPLACE MACRO silver.anio_academico(d) AS
    CASE WHEN month(d) >= 3 THEN year(d) ELSE year(d) - 1 END;

CREATE OR REPLACE MACRO silver.cuatrimestre(d) AS
    CASE WHEN month(d) BETWEEN 3 AND 7 THEN 1 ELSE 2 END;

-- Completed years between two dates (an age, a seniority): a birthday not yet reached does not count.
CREATE OR REPLACE MACRO silver.anios_cumplidos(desde, hasta) AS
    date_diff('year', desde, hasta)
    - CASE WHEN strftime(hasta, '%m%d') < strftime(desde, '%m%d') THEN 1 ELSE 0 END;

-- Stable surrogate key of a source row: the same source and natural key give the same value in every run.
CREATE OR REPLACE MACRO silver.surrogate(source_db, natural_key) AS
    md5(source_db || '|' || CAST(natural_key AS VARCHAR));

CREATE OR REPLACE MACRO silver.setting(setting_name) AS
    (SELECT value FROM silver.seed_settings WHERE name = setting_name);

-- Guaraní grades are text: '7', '6,50', '7.5', or words mapped in seed_text_grades.
CREATE OR REPLACE MACRO silver.nota_numerica(nota) AS
    CASE
        WHEN regexp_full_match(trim(nota), '[0-9]+([.,][0-9]+)?')
            THEN CAST(replace(trim(nota), ',', '.') AS DOUBLE)
        ELSE (SELECT TRY_CAST(g.valor AS DOUBLE) FROM silver.seed_text_grades g
              WHERE g.texto = lower(trim(nota)))
    END;

CREATE OR REPLACE MACRO silver.nota_reconocida(nota) AS
    nota IS NULL
    OR regexp_full_match(trim(nota), '[0-9]+([.,][0-9]+)?')
    OR EXISTS (SELECT 1 FROM silver.seed_text_grades g WHERE g.texto = lower(trim(nota)));
