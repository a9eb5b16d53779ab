SELECT
  *
FROM "users" AS "t0"
WHERE
  "t0"."age" IS NOT NULL
  AND "t0"."age" >= 18
  AND "t0"."age" >= 25
  AND "t0"."age" <= 34
  AND NOT (
    (
      "t0"."score" IS NOT NULL
    )
    AND (
      (
        "t0"."score" >= 0.5
      ) AND (
        "t0"."score" <= 1.5
      )
    )
  )
  AND "t0"."score" IS NOT NULL
  AND "t0"."score" < 99.5
  AND "t0"."vip" IS NOT NULL
  AND "t0"."vip" = TRUE
