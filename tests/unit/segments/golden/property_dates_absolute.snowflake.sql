SELECT
  *
FROM "users" AS "t0"
WHERE
  "t0"."created_at" IS NOT NULL
  AND "t0"."created_at" >= TIMESTAMP_FROM_PARTS(2023, 1, 2, 0, 0, 0, 0)
  AND "t0"."created_at" < TIMESTAMP_FROM_PARTS(2024, 2, 1, 7, 30, 0, 0)
  AND "t0"."birth_date" IS NOT NULL
  AND "t0"."birth_date" >= DATE_FROM_PARTS(1980, 1, 1)
  AND "t0"."birth_date" < DATE_FROM_PARTS(2000, 1, 1)
  AND "t0"."created_at" >= TIMESTAMP_FROM_PARTS(2023, 6, 15, 0, 0, 0, 0)
  AND "t0"."created_at" < TIMESTAMP_FROM_PARTS(2023, 6, 16, 0, 0, 0, 0)
