WITH `t5` AS (
  SELECT
    `t1`.`user_id` AS `__link`,
    `t1`.`total` AS `__value`
  FROM `orders` AS `t1`
  WHERE
    `t1`.`user_id` IS NOT NULL
)
SELECT
  *
FROM `users` AS `t0`
WHERE
  `t0`.`user_id` IS NOT NULL
  AND `t0`.`user_id` IN (
    SELECT
      `t12`.`__link`
    FROM (
      SELECT
        `t8`.`__link`,
        COALESCE(SUM(`t8`.`__value`), 0) AS `__metric`
      FROM `t5` AS `t8`
      GROUP BY
        1
    ) AS `t12`
    WHERE
      `t12`.`__metric` > 500.0
  )
  AND NOT (
    (
      `t0`.`user_id` IS NOT NULL
    )
    AND `t0`.`user_id` IN (
      SELECT
        `t9`.`__link`
      FROM (
        SELECT
          `t6`.`__link`,
          COUNT(*) AS `__metric`
        FROM (
          SELECT
            `t1`.`user_id` AS `__link`,
            1 AS `__value`
          FROM `orders` AS `t1`
          WHERE
            `t1`.`user_id` IS NOT NULL
        ) AS `t6`
        GROUP BY
          1
      ) AS `t9`
      WHERE
        NOT (
          `t9`.`__metric` < 3.0
        )
    )
  )
  AND `t0`.`user_id` IN (
    SELECT
      `t10`.`__link`
    FROM (
      SELECT
        `t8`.`__link`,
        AVG(`t8`.`__value`) AS `__metric`
      FROM `t5` AS `t8`
      GROUP BY
        1
    ) AS `t10`
    WHERE
      `t10`.`__metric` >= 20.0 AND `t10`.`__metric` <= 80.0
  )
  AND `t0`.`user_id` IN (
    SELECT
      `t17`.`__link`
    FROM (
      SELECT
        `t15`.`__link`,
        MAX(`t15`.`__value`) AS `__metric`
      FROM (
        SELECT
          *
        FROM (
          SELECT
            `t3`.`user_id` AS `__link`,
            `t7`.`__value`
          FROM `orders` AS `t3`
          INNER JOIN (
            SELECT
              `t2`.`order_id` AS `__link`,
              `t2`.`quantity` AS `__value`
            FROM `order_items` AS `t2`
          ) AS `t7`
            ON `t3`.`order_id` = `t7`.`__link`
        ) AS `t11`
        WHERE
          `t11`.`__link` IS NOT NULL
      ) AS `t15`
      GROUP BY
        1
    ) AS `t17`
    WHERE
      `t17`.`__metric` >= 2.0
  )
