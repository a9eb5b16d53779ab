SELECT
  *
FROM `users` AS `t0`
WHERE
  `t0`.`user_id` IS NOT NULL
  AND `t0`.`user_id` IN (
    SELECT
      `t1`.`user_id` AS `__link`
    FROM `orders` AS `t1`
    WHERE
      `t1`.`status` IS NOT NULL
      AND `t1`.`status` = 'completed'
      AND `t1`.`user_id` IS NOT NULL
  )
  AND NOT (
    (
      `t0`.`user_id` IS NOT NULL
    )
    AND `t0`.`user_id` IN (
      SELECT
        `t1`.`user_id` AS `__link`
      FROM `orders` AS `t1`
      WHERE
        `t1`.`status` IS NOT NULL
        AND `t1`.`status` = 'refunded'
        AND `t1`.`user_id` IS NOT NULL
    )
  )
