-- target:   silver.map_moodle_user_dia
-- grain:    source_db, userid, dia
-- upstream: bronze.moodle_users, bronze.moodle_engagement, bronze.moodle_attendance, bronze.graduates,
--           bronze.course_inscriptions, bronze.exam_inscriptions, bronze.reinscripciones, silver.dim_persona,
--           silver.dim_student, silver.seed_settings
-- test:     relationship(alumno_key -> silver.dim_student(alumno_key))
-- test:     not_null(alumno_key)
-- test:     accepted_values(regla: 'unica', 'abierta', 'ninguna_abierta', 'antes_de_ingresar')
-- Which student each day of a Moodle account's activity (log events or attendance sessions) belongs to. The
-- account links to a person through the keyed pseudonym of its login (`username`, or `idnumber` when
-- seed_settings.moodle_match_field says so), like the person's `usuario`; the raw DNI never leaves bronze.
-- A person with one career: that career. With several (a second career, or the same person in two
-- sources), a day belongs to the career open on it: entered by that day, not graduated before it, and
-- either entered within the last 365 days or with academic activity (an inscription or a reinscription) in
-- the 365 days up to it; several open: the older career; none open: the latest one entered by then;
-- none entered yet: the first one. Only data dated up to the day decides, so a later enrolment never takes
-- an earlier day's activity away (regla says which case applied).
CREATE OR REPLACE TABLE silver.map_moodle_user_dia AS
WITH cuentas AS (
    SELECT u.source_db, u.userid,
           silver.pseudonym('login', lower(trim(
               CASE silver.setting('moodle_match_field') WHEN 'idnumber' THEN u.idnumber ELSE u.username END)))
               AS login_hash
    FROM bronze.moodle_users u
    WHERE NULLIF(trim(CASE silver.setting('moodle_match_field') WHEN 'idnumber' THEN u.idnumber
                           ELSE u.username END), '') IS NOT NULL
),
egresos AS (
    SELECT source_db, alumno, min(fecha_egreso) AS fecha_egreso FROM bronze.graduates GROUP BY ALL
),
carreras AS (
    SELECT c.source_db, c.userid, st.alumno_key, st.persona_key,
           COALESCE(st.fecha_ingreso, make_date(st.anio_ingreso, 3, 1)) AS desde,
           g.fecha_egreso
    FROM cuentas c
    JOIN silver.dim_persona p ON p.login_hash = c.login_hash
    JOIN silver.dim_student st ON st.persona_key = p.persona_key
    LEFT JOIN egresos g ON g.source_db = st.source_db AND g.alumno = st.alumno
),
cuantas AS (
    SELECT source_db, userid, count(*) AS carreras FROM carreras GROUP BY ALL
),
dias AS (
    SELECT DISTINCT source_db, userid, dia FROM bronze.moodle_engagement
    UNION
    SELECT DISTINCT source_db, userid, fecha_sesion FROM bronze.moodle_attendance WHERE fecha_sesion IS NOT NULL
),
candidatos AS (
    SELECT d.source_db, d.userid, d.dia, c.alumno_key, c.persona_key, c.desde, c.fecha_egreso, n.carreras
    FROM dias d
    JOIN carreras c ON c.source_db = d.source_db AND c.userid = d.userid
    JOIN cuantas n ON n.source_db = d.source_db AND n.userid = d.userid
),
actividad AS (
    -- academic activity days of the careers of people with more than one
    SELECT silver.pseudonym(source_db, alumno) AS alumno_key, CAST(fecha_inscripcion AS DATE) AS fecha
    FROM bronze.course_inscriptions
    UNION SELECT silver.pseudonym(source_db, alumno), CAST(fecha_inscripcion AS DATE) FROM bronze.exam_inscriptions
    UNION SELECT silver.pseudonym(source_db, alumno), CAST(fecha_reinscripcion AS DATE) FROM bronze.reinscripciones
),
varias AS (
    SELECT c.*, a.fecha AS ultima_actividad
    FROM (SELECT * FROM candidatos WHERE carreras > 1) c
    ASOF LEFT JOIN actividad a ON a.alumno_key = c.alumno_key AND c.dia >= a.fecha
),
estado AS (
    SELECT *,
           desde <= dia AS ingresada,
           desde <= dia AND (fecha_egreso IS NULL OR dia <= fecha_egreso)
               AND (dia - desde <= 365 OR dia - ultima_actividad <= 365) IS TRUE AS abierta
    FROM varias
),
elegida AS (
    SELECT source_db, userid, dia, alumno_key, persona_key,
           CASE WHEN abierta THEN 'abierta' WHEN ingresada THEN 'ninguna_abierta' ELSE 'antes_de_ingresar' END
               AS regla
    FROM estado
    QUALIFY row_number() OVER (
        PARTITION BY source_db, userid, dia
        ORDER BY abierta DESC, ingresada DESC,
                 CASE WHEN abierta THEN desde END ASC NULLS LAST,
                 CASE WHEN ingresada THEN desde END DESC NULLS LAST,
                 desde, alumno_key) = 1
)
SELECT source_db, userid, dia, alumno_key, persona_key, 'unica' AS regla
FROM candidatos WHERE carreras = 1
UNION ALL
SELECT source_db, userid, dia, alumno_key, persona_key, regla FROM elegida;
