-- target:   bronze.graduates (optional: only where the deployment has the certificates tables)
-- grain:    one row per (source_db, certificado_otorg)
-- upstream: negocio.sga_certificados_otorg, sga_certificados
-- load:     snapshot (each run replaces this source's rows)
-- Annulled certificates (anulado <> 0) are not graduations.
SELECT co.certificado_otorg,
       co.alumno,
       co.plan_version,
       co.certificado,
       c.nombre            AS certificado_nombre,
       co.fecha_egreso,
       co.promedio,
       co.promedio_sin_aplazos
FROM negocio.sga_certificados_otorg co
LEFT JOIN negocio.sga_certificados c ON c.certificado = co.certificado
WHERE co.anulado = 0
