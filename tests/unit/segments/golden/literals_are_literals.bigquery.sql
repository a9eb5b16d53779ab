SELECT
  *
FROM `users` AS `t0`
WHERE
  (
    (
      `t0`.`country` IS NOT NULL
    )
    AND (
      `t0`.`country` = '\'; DROP TABLE users; --'
    )
  )
  OR (
    (
      `t0`.`email` IS NOT NULL
    )
    AND (
      INSTR(`t0`.`email`, 'Zoë "日本" \\ %_') > 0
    )
  )
