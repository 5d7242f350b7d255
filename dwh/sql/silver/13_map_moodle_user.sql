-- target:   silver.map_moodle_user
-- grain:    source_db, userid
-- upstream: bronze.moodle_users, bronze.moodle_enrolments, bronze.moodle_engagement, silver.dim_persona,
--           silver.dim_student, silver.map_moodle_user_dia, silver.seed_settings
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     expression(alumno_key IS NOT NULL OR NOT tiene_actividad) warn
-- Every Moodle account and the student it belongs to now: the student of its latest day of activity
-- (map_moodle_user_dia), or, for an account without activity, the person's latest entry (then source,
-- alumno). Activity facts never use this column: each day is attributed on its own (map_moodle_user_dia).
-- The warn test counts accounts with Moodle activity that match no student.
CREATE OR REPLACE TABLE silver.map_moodle_user AS
WITH accounts AS (
    SELECT u.source_db, u.userid, u.username, u.deleted, u.suspended,
           CASE silver.setting('moodle_match_field') WHEN 'idnumber' THEN u.idnumber ELSE u.username END AS login
    FROM bronze.moodle_users u
),
active AS (
    SELECT source_db, userid FROM bronze.moodle_enrolments
    UNION SELECT source_db, userid FROM bronze.moodle_engagement
),
latest_day AS (
    SELECT source_db, userid, alumno_key, persona_key
    FROM silver.map_moodle_user_dia
    QUALIFY row_number() OVER (PARTITION BY source_db, userid ORDER BY dia DESC) = 1
),
candidates AS (
    SELECT a.source_db, a.userid, st.alumno_key, st.persona_key,
           row_number() OVER (PARTITION BY a.source_db, a.userid
                              ORDER BY st.fecha_ingreso DESC NULLS LAST, st.source_db, st.alumno) AS rn
    FROM accounts a
    JOIN silver.dim_persona p ON p.login_hash = silver.pseudonym('login', lower(trim(a.login)))
    JOIN silver.dim_student st ON st.persona_key = p.persona_key
    WHERE NULLIF(trim(a.login), '') IS NOT NULL
)
SELECT a.source_db,
       a.userid,
       COALESCE(l.alumno_key, c.alumno_key)                             AS alumno_key,
       COALESCE(l.persona_key, c.persona_key)                             AS persona_key,
       c.alumno_key IS NOT NULL                                          AS vinculado,
       silver.setting('moodle_match_field')                               AS vinculado_por,
       a.deleted = 1                                                      AS eliminado,
       a.suspended = 1                                                    AS suspendido,
       EXISTS (SELECT 1 FROM active x WHERE x.source_db = a.source_db AND x.userid = a.userid) AS tiene_actividad
FROM accounts a
LEFT JOIN candidates c ON c.source_db = a.source_db AND c.userid = a.userid AND c.rn = 1
LEFT JOIN latest_day l ON l.source_db = a.source_db AND l.userid = a.userid;
