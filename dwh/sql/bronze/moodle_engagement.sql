-- target:   bronze.moodle_engagement
-- grain:    one row per (source_db, userid, courseid, dia)
-- upstream: mdl_logstore_standard_log
-- load:     incremental on dia (local day, never after the as-of date), merge on the key
-- Aggregated in PostgreSQL so the raw log never crosses the network; the day is the local
-- (America/Argentina/Buenos_Aires) day of the event; the predicate uses the indexed timecreated.
-- By row versions (dwh/docs/CHANGE_DETECTION.md): every (user, course, day) with a log row written since the
-- last load is aggregated again in full, from the earliest such day on (the predicate stays on timecreated).
WITH changed AS MATERIALIZED (
    SELECT DISTINCT c.userid, c.courseid, CAST(to_timestamp(c.timecreated) AS date) AS dia
    FROM mdl_logstore_standard_log c
    WHERE xid_changed(c)
      AND c.timecreated < CAST(extract(epoch FROM CAST(CAST(:as_of AS date) + 1 AS timestamptz)) AS bigint)
      AND c.userid > 0
      AND c.courseid IS NOT NULL
)
SELECT l.userid,
       l.courseid,
       CAST(to_timestamp(l.timecreated) AS date)  AS dia,
       count(*)                                   AS eventos,
       count(DISTINCT l.action)                   AS acciones_distintas,
       count(DISTINCT l.contextinstanceid)        AS recursos_distintos,
       to_timestamp(min(l.timecreated))           AS primer_evento,
       to_timestamp(max(l.timecreated))           AS ultimo_evento
FROM mdl_logstore_standard_log l
LEFT JOIN changed ch
       ON ch.userid = l.userid AND ch.courseid = l.courseid AND ch.dia = CAST(to_timestamp(l.timecreated) AS date)
WHERE l.timecreated >= LEAST(CAST(extract(epoch FROM CAST(:start_value AS date)::timestamptz) AS bigint),
                             (SELECT CAST(extract(epoch FROM min(dia)::timestamptz) AS bigint) FROM changed))
  AND (l.timecreated >= CAST(extract(epoch FROM CAST(:start_value AS date)::timestamptz) AS bigint)
       OR ch.userid IS NOT NULL)
  AND l.timecreated < CAST(extract(epoch FROM CAST(CAST(:as_of AS date) + 1 AS timestamptz)) AS bigint)
  AND l.userid > 0
  AND l.courseid IS NOT NULL
GROUP BY l.userid, l.courseid, CAST(to_timestamp(l.timecreated) AS date)
