-- target:   bronze.personas
-- grain:    one row per (source_db, persona)
-- upstream: negocio.mdp_personas, sga_alumnos, mug_localidades, mdp_nacionalidades, mdp_personas_contactos
-- load:     snapshot (each run replaces this source's rows)
-- Only persons linked to an alumno (D36). `usuario` (the DNI in practice) is needed to link Moodle
-- accounts; it stays in bronze: silver keeps only its keyed pseudonym. apellido, nombres and email (the
-- newest contact with an e-mail) only feed contactos.duckdb, the tutors' file (dwh/docs/PRIVACY.md):
-- silver and the published warehouse never hold them.
SELECT p.persona,
       p.fecha_nacimiento,
       p.sexo,
       p.identidad_genero,
       p.localidad_nacimiento,
       ln.nombre             AS localidad_nacimiento_desc,
       p.nacionalidad,
       mn.descripcion        AS nacionalidad_desc,
       p.usuario,
       p.apellido,
       p.nombres,
       pc.email
FROM negocio.mdp_personas p
LEFT JOIN negocio.mug_localidades ln    ON ln.localidad = p.localidad_nacimiento
LEFT JOIN negocio.mdp_nacionalidades mn ON mn.nacionalidad = p.nacionalidad
LEFT JOIN (
    SELECT DISTINCT ON (c.persona) c.persona, trim(c.email) AS email
    FROM negocio.mdp_personas_contactos c
    WHERE NULLIF(trim(c.email), '') IS NOT NULL
    ORDER BY c.persona, c.persona_contacto DESC
) pc ON pc.persona = p.persona
-- Read by row versions (dwh/docs/CHANGE_DETECTION.md): the persons whose row or contacts were written since the
-- last load, or who became students; a change to a place or nationality re-reads them all.
WHERE EXISTS (SELECT 1 FROM negocio.sga_alumnos a WHERE a.persona = p.persona)
  AND (NOT xid_mode()
       OR xid_changed(p)
       OR p.persona IN (SELECT c2.persona FROM negocio.mdp_personas_contactos c2 WHERE xid_changed(c2)
                        UNION ALL
                        SELECT a2.persona FROM negocio.sga_alumnos a2 WHERE xid_changed(a2))
       OR EXISTS (SELECT 1 FROM negocio.mug_localidades x1 WHERE xid_changed(x1))
       OR EXISTS (SELECT 1 FROM negocio.mdp_nacionalidades x2 WHERE xid_changed(x2)))
