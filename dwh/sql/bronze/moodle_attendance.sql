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
-- By row versions (dwh/docs/CHANGE_DETECTION.md): the log row, its session, its attendance activity or its
-- status written since the last load.
WHERE (al.timetaken >= CAST(extract(epoch FROM CAST(:start_value AS timestamptz)) AS bigint)
       OR xid_changed(al)
       OR al.sessionid IN (SELECT s2.id
                           FROM mdl_attendance_sessions s2
                           LEFT JOIN mdl_attendance a2 ON a2.id = s2.attendanceid
                           WHERE xid_changed(s2) OR xid_changed(a2))
       OR al.statusid IN (SELECT st2.id FROM mdl_attendance_statuses st2 WHERE xid_changed(st2)))
  AND al.timetaken < CAST(extract(epoch FROM CAST(CAST(:as_of AS date) + 1 AS timestamptz)) AS bigint)
