-- target:   bronze.moodle_courses
-- grain:    one row per (source_db, courseid)
-- upstream: mdl_course
-- load:     snapshot (each run replaces this source's rows)
SELECT c.id                                                  AS courseid,
       c.category,
       c.shortname,
       c.idnumber,
       c.fullname,
       CAST(to_timestamp(NULLIF(c.startdate, 0)) AS date)    AS fecha_inicio,
       CAST(to_timestamp(NULLIF(c.enddate, 0)) AS date)      AS fecha_fin,
       c.visible
FROM mdl_course c
-- Read by row versions (dwh/docs/CHANGE_DETECTION.md): the rows written since the last load; else all.
WHERE NOT xid_mode() OR xid_changed(c)
