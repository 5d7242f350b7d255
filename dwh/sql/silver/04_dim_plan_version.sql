-- target:   silver.dim_plan_version
-- grain:    source_db, plan_version
-- upstream: bronze.students, bronze.course_inscriptions, bronze.exam_inscriptions
-- test:     unique(plan_version_key)
-- Every plan version any student, course or exam inscription refers to; the name seen first by id order.
CREATE OR REPLACE TABLE silver.dim_plan_version AS
WITH named AS (
    SELECT source_db, plan_version_id AS plan_version, plan_version AS nombre FROM bronze.students
    UNION ALL SELECT source_db, plan_version_id, plan_version_desc FROM bronze.course_inscriptions
    UNION ALL SELECT source_db, plan_version_id, plan_version_desc FROM bronze.exam_inscriptions
)
SELECT silver.surrogate(source_db, plan_version) AS plan_version_key,
       source_db,
       plan_version,
       min(nombre)                               AS plan_version_nombre
FROM named
WHERE plan_version IS NOT NULL
GROUP BY source_db, plan_version;
