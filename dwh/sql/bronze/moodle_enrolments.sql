-- target:   bronze.moodle_enrolments
-- grain:    one row per (source_db, user_enrolment_id)
-- upstream: mdl_user_enrolments, mdl_enrol
-- load:     incremental on modificado (timemodified as TIMESTAMPTZ, never after the as-of day), merge on the key
-- Moodle times are BIGINT epoch seconds: converted explicitly; the predicate stays on the raw column.
SELECT ue.id                                                       AS user_enrolment_id,
       ue.userid,
       e.courseid,
       e.enrol                                                     AS metodo,
       ue.status                                                   AS estado,
       e.status                                                    AS estado_metodo,
       to_timestamp(NULLIF(ue.timestart, 0))                       AS inicio,
       to_timestamp(NULLIF(NULLIF(ue.timeend, 0), 2147483647))     AS fin,
       to_timestamp(ue.timemodified)                               AS modificado
FROM mdl_user_enrolments ue
JOIN mdl_enrol e ON e.id = ue.enrolid
-- By row versions (dwh/docs/CHANGE_DETECTION.md): the enrolment or its enrolment method written since the
-- last load (Moodle does not always move timemodified, e.g. when a method is disabled).
WHERE (ue.timemodified >= CAST(extract(epoch FROM CAST(:start_value AS timestamptz)) AS bigint)
       OR xid_changed(ue)
       OR ue.enrolid IN (SELECT en.id FROM mdl_enrol en WHERE xid_changed(en)))
  AND ue.timemodified < CAST(extract(epoch FROM CAST(CAST(:as_of AS date) + 1 AS timestamptz)) AS bigint)
