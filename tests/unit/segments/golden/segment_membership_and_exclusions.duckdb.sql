SELECT
  *
FROM "users" AS "t0"
WHERE
  "t0"."tier" IS NOT NULL
  AND "t0"."tier" = 'gold'
  AND "t0"."age" IS NOT NULL
  AND "t0"."age" >= 21
  AND NOT (
    (
      "t0"."vip" IS NULL
    ) OR (
      "t0"."email" IS NULL
    )
  )
