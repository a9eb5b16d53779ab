SELECT
  *
FROM `users` AS `t0`
WHERE
  `t0`.`user_id` IS NOT NULL
  AND `t0`.`user_id` IN (
    SELECT
      `t7`.`__link`
    FROM (
      SELECT
        `t5`.`__link`,
        COUNT(*) AS `__metric`
      FROM (
        SELECT
          `t1`.`user_id` AS `__link`,
          1 AS `__value`
        FROM `events` AS `t1`
        WHERE
          `t1`.`event_name` IS NOT NULL
          AND `t1`.`event_name` = 'purchase'
          AND `t1`.`occurred_at` IS NOT NULL
          AND `t1`.`occurred_at` >= CAST('2024-01-31T12:00:00' AS TIMESTAMP)
          AND `t1`.`occurred_at` <= CAST('2024-03-01T12:00:00' AS TIMESTAMP)
          AND COALESCE(
            IF(
              SCHEMA_OF_VARIANT(`t1`.`properties`:revenue) IN ('STRING', 'BOOLEAN'),
              NULL,
              TRY_VARIANT_GET(`t1`.`properties`:revenue, '$', 'DOUBLE')
            ) > 50.0,
            FALSE
          )
          AND `t1`.`user_id` IS NOT NULL
      ) AS `t5`
      GROUP BY
        1
    ) AS `t7`
    WHERE
      `t7`.`__metric` >= 2.0
  )
  AND NOT (
    (
      `t0`.`user_id` IS NOT NULL
    )
    AND `t0`.`user_id` IN (
      SELECT
        `t1`.`user_id` AS `__link`
      FROM `events` AS `t1`
      WHERE
        `t1`.`event_name` IS NOT NULL
        AND `t1`.`event_name` = 'email_open'
        AND `t1`.`occurred_at` IS NOT NULL
        AND `t1`.`occurred_at` >= CAST('2024-01-01T00:00:00' AS TIMESTAMP)
        AND `t1`.`occurred_at` < CAST('2024-02-01T00:00:00' AS TIMESTAMP)
        AND `t1`.`user_id` IS NOT NULL
    )
  )
  AND `t0`.`user_id` IN (
    SELECT
      `t4`.`__link`
    FROM (
      SELECT
        `t2`.`__link`,
        COUNT(*) AS `__metric`
      FROM (
        SELECT
          `t1`.`user_id` AS `__link`,
          1 AS `__value`
        FROM `events` AS `t1`
        WHERE
          `t1`.`event_name` IS NOT NULL
          AND `t1`.`event_name` = 'add_to_cart'
          AND `t1`.`user_id` IS NOT NULL
      ) AS `t2`
      GROUP BY
        1
    ) AS `t4`
    WHERE
      `t4`.`__metric` = 1.0
  )
