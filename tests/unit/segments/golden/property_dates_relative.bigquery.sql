SELECT
  *
FROM `users` AS `t0`
WHERE
  (
    (
      `t0`.`created_at` IS NOT NULL
    )
    AND (
      (
        `t0`.`created_at` >= DATETIME('2024-01-31T12:00:00')
      )
      AND (
        `t0`.`created_at` <= DATETIME('2024-03-01T12:00:00')
      )
    )
  )
  OR (
    (
      `t0`.`created_at` IS NOT NULL
    )
    AND (
      `t0`.`created_at` < DATETIME('2024-02-23T12:00:00')
    )
  )
  OR (
    (
      `t0`.`birth_date` IS NOT NULL
    )
    AND (
      (
        `t0`.`birth_date` >= DATE(2024, 3, 1)
      )
      AND (
        `t0`.`birth_date` <= DATE(2024, 3, 15)
      )
    )
  )
  OR (
    (
      `t0`.`birth_date` IS NOT NULL
    )
    AND (
      (
        EXTRACT(month FROM `t0`.`birth_date`) = 3
      )
      AND (
        EXTRACT(day FROM `t0`.`birth_date`) = 1
      )
    )
  )
