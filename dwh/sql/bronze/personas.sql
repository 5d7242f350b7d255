-- target:   bronze.personas
-- grain:    one row per (source_db, persona)
-- upstream: negocio.mdp_personas, sga_alumnos, mug_localidades, mdp_nacionalidades
-- load:     snapshot (each run replaces this source's rows)
-- Only persons linked to an alumno (D36). `usuario` (the DNI in practice) is needed to link Moodle
-- accounts; it stays in bronze: silver keeps only a salted hash of it. No names, no contact data.
SELECT p.persona,
       p.fecha_nacimiento,
       p.sexo,
       p.identidad_genero,
       p.localidad_nacimiento,
       ln.nombre             AS localidad_nacimiento_desc,
       p.nacionalidad,
       mn.descripcion        AS nacionalidad_desc,
       p.usuario
FROM negocio.mdp_personas p
LEFT JOIN negocio.mug_localidades ln    ON ln.localidad = p.localidad_nacimiento
LEFT JOIN negocio.mdp_nacionalidades mn ON mn.nacionalidad = p.nacionalidad
WHERE EXISTS (SELECT 1 FROM negocio.sga_alumnos a WHERE a.persona = p.persona)
