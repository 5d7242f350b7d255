-- target:   bronze.moodle_users
-- grain:    one row per (source_db, userid)
-- upstream: mdl_user
-- load:     snapshot (each run replaces this source's rows)
-- No names, e-mails or addresses: only what links an account to a Guaraní person and its status.
SELECT u.id                                   AS userid,
       u.username,
       u.idnumber,
       u.auth,
       u.deleted,
       u.suspended,
       to_timestamp(u.timecreated)            AS creado,
       to_timestamp(NULLIF(u.lastaccess, 0))  AS ultimo_acceso
FROM mdl_user u
-- Read by row versions (dwh/docs/CHANGE_DETECTION.md): the accounts written since the last load; else all.
WHERE NOT xid_mode() OR xid_changed(u)
