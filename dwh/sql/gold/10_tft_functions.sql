-- target:   gold.fn_tft
-- grain:    -
-- upstream: silver.seed_settings, gold.seed_label_params
-- Helpers of the TFT feature store (macros, no table). Categoricals are VARCHAR with an explicit
-- 'DESCONOCIDO', because pytorch-forecasting rejects numeric or missing categories.
CREATE OR REPLACE MACRO gold.cat(x) AS
    COALESCE(NULLIF(trim(CAST(x AS VARCHAR)), ''), 'DESCONOCIDO');

CREATE OR REPLACE MACRO gold.flag(b) AS
    CASE WHEN b THEN '1' WHEN NOT b THEN '0' ELSE 'DESCONOCIDO' END;

-- Global semester index: consecutive integers anchored on the configured origin year, so an index never
-- shifts when older data arrives (cuatrimestre 1 of the origin year is 0).
CREATE OR REPLACE MACRO gold.semestre_idx(anio, cuatrimestre) AS
    CAST((anio - CAST((SELECT value FROM silver.seed_settings WHERE name = 'anio_relativo_origen') AS INTEGER)) * 2
         + cuatrimestre - 1 AS INTEGER);

CREATE OR REPLACE MACRO gold.label_param(param) AS
    (SELECT CAST(valor AS INTEGER) FROM gold.seed_label_params WHERE nombre = param);
