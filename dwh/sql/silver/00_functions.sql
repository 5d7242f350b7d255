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
-- For things, not people (programs, plans, subjects, sites): md5 is enough, nothing personal to reverse.
CREATE OR REPLACE MACRO silver.surrogate(source_db, natural_key) AS
    md5(source_db || '|' || CAST(natural_key AS VARCHAR));

-- The pseudonym key (32 bytes, hex) set by the pipeline from the key file outside the warehouse
-- (dwh/ops/keys.py); a caller that sets only hash_salt (tests, dry runs) gets sha256(hash_salt), as
-- DWH_HASH_SALT gives in Python. Padded with zeros to SHA-256's 64-byte block, as HMAC pads a short key.
CREATE OR REPLACE MACRO silver.pseudonym_key_block() AS
    unhex(COALESCE(getvariable('pseudonym_key'), sha256(getvariable('hash_salt')),
                   error('silver: no pseudonym key (the pipeline sets the variable pseudonym_key)'))
          || repeat('00', 32));

-- Stable pseudonymous key of a person, a student or a login: HMAC-SHA256(key, domain|natural_key), the
-- first 32 hex characters (RFC 2104: sha256(key^opad || sha256(key^ipad || message))). Without the key
-- nobody can recompute it from an alumno number or a DNI; with it, dwh.ops.keys.pseudonym() gives the same.
-- encode(), not a cast to BLOB: a cast would read backslash escapes in the text.
CREATE OR REPLACE MACRO silver.pseudonym_pad(name, byte) AS
    -- the key's inner or outer block: set by the pipeline (pseudonym_ipad/opad), else derived per call
    unhex(COALESCE(getvariable('pseudonym_' || name),
                   hex(xor(silver.pseudonym_key_block()::BIT, unhex(repeat(byte, 64))::BIT)::BLOB)));

CREATE OR REPLACE MACRO silver.pseudonym(domain, natural_key) AS
    left(sha256(silver.pseudonym_pad('opad', '5c')
                || unhex(sha256(silver.pseudonym_pad('ipad', '36')
                                || encode(domain || '|' || CAST(natural_key AS VARCHAR))))), 32);

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
