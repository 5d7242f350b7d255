-- target:   bronze.moodle_attendance
-- grain:    one row per (source_db, attendance_log_id): a student's status in one session
-- upstream: mdl_attendance_log, mdl_attendance_sessions, mdl_attendance_statuses, mdl_attendance
-- load:     incremental on tomada (timetaken as TIMESTAMPTZ, never after the as-of day), merge on the key
SELECT al.id                                      AS attendance_log_id,
       al.studentid                               AS userid,
       a.course                                   AS courseid,
       s.id                                       AS sessionid,
       to_timestamp(s.sessdate)                   AS sesion_inicio,
       CAST(to_timestamp(s.sessdate) AS date)     AS fecha_sesion,
       st.acronym                                 AS estado,
       st.description                             AS estado_desc,
       st.grade                                   AS estado_puntaje,
       to_timestamp(al.timetaken)                 AS tomada
FROM mdl_attendance_log al
JOIN mdl_attendance_sessions s   ON s.id = al.sessionid
JOIN mdl_attendance a            ON a.id = s.attendanceid
LEFT JOIN mdl_attendance_statuses st ON st.id = al.statusid
WHERE al.timetaken >= CAST(extract(epoch FROM CAST(:start_value AS timestamptz)) AS bigint)
  AND al.timetaken < CAST(extract(epoch FROM CAST(CAST(:as_of AS date) + 1 AS timestamptz)) AS bigint)
