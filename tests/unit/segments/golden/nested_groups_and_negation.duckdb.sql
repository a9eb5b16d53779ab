SELECT
  *
FROM "users" AS "t0"
WHERE
  (
    (
      (
        "t0"."country" IS NOT NULL
      ) AND (
        "t0"."country" = 'FR'
      )
    )
    OR (
      (
        "t0"."country" IS NOT NULL
      ) AND (
        "t0"."country" = 'BE'
      )
    )
  )
  AND NOT (
    (
      "t0"."tier" IS NOT NULL
    )
    AND (
      "t0"."tier" = 'bronze'
    )
    AND (
      (
        "t0"."vip" IS NOT NULL
      ) AND (
        "t0"."vip" = FALSE
      )
    )
  )
  AND NOT (
    (
      "t0"."age" IS NOT NULL
    ) AND (
      "t0"."age" > 65
    )
  )
