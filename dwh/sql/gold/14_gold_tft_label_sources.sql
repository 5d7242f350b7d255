-- target:   gold.gold_tft_label_sources
-- grain:    source_db
-- upstream: silver.dim_student, silver.cobertura_fuentes, gold.seed_label_params
-- test:     expression(egresados_disponibles OR aceptar_sin_egresados)
-- Whether the label can be decided for each Guaraní source. Without its graduates (certificates) table a
-- graduate looks exactly like a student who left, so the label rule is undecidable: the error test above
-- then stops the label tables (15-17), and gold is built without them (the marts are). Setting
-- seed_label_params.aceptar_sin_egresados = 1 accepts it explicitly: the labels are built and every label
-- row of such a source says egresados_incompletos = '1' (graduates may be counted as dropouts).
CREATE OR REPLACE TABLE gold.gold_tft_label_sources AS
SELECT f.source_db,
       COALESCE(c.egresados_disponibles, TRUE)        AS egresados_disponibles,
       COALESCE(c.egresados_estado, 'sin registro')   AS egresados_estado,
       gold.label_param('aceptar_sin_egresados') = 1  AS aceptar_sin_egresados,
       c.detalle_desde
FROM (SELECT DISTINCT source_db FROM silver.dim_student) f
LEFT JOIN silver.cobertura_fuentes c ON c.source_db = f.source_db;
