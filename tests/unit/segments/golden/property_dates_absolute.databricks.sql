SELECT
  *
FROM `users` AS `t0`
WHERE
  `t0`.`created_at` IS NOT NULL
  AND `t0`.`created_at` >= CAST('2023-01-02T00:00:00' AS TIMESTAMP)
  AND `t0`.`created_at` < CAST('2024-02-01T07:30:00' AS TIMESTAMP)
  AND `t0`.`birth_date` IS NOT NULL
  AND `t0`.`birth_date` >= MAKE_DATE(1980, 1, 1)
  AND `t0`.`birth_date` < MAKE_DATE(2000, 1, 1)
  AND `t0`.`created_at` >= CAST('2023-06-15T00:00:00' AS TIMESTAMP)
  AND `t0`.`created_at` < CAST('2023-06-16T00:00:00' AS TIMESTAMP)
