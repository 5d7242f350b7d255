-- target:   bronze.moodle_engagement
-- grain:    one row per (source_db, userid, courseid, dia)
-- upstream: mdl_logstore_standard_log
-- load:     incremental on dia (local day, never after the as-of date), merge on the key
-- Aggregated in PostgreSQL so the raw log never crosses the network; the day is the local
-- (America/Argentina/Buenos_Aires) day of the event; the predicate uses the indexed timecreated.
SELECT l.userid,
       l.courseid,
       CAST(to_timestamp(l.timecreated) AS date)  AS dia,
       count(*)                                   AS eventos,
       count(DISTINCT l.action)                   AS acciones_distintas,
       count(DISTINCT l.contextinstanceid)        AS recursos_distintos,
       to_timestamp(min(l.timecreated))           AS primer_evento,
       to_timestamp(max(l.timecreated))           AS ultimo_evento
FROM mdl_logstore_standard_log l
WHERE l.timecreated >= CAST(extract(epoch FROM CAST(:start_value AS date)::timestamptz) AS bigint)
  AND l.timecreated < CAST(extract(epoch FROM CAST(CAST(:as_of AS date) + 1 AS timestamptz)) AS bigint)
  AND l.userid > 0
  AND l.courseid IS NOT NULL
GROUP BY l.userid, l.courseid, CAST(to_timestamp(l.timecreated) AS date)
