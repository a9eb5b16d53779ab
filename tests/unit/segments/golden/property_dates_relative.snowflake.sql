SELECT
  *
FROM "users" AS "t0"
WHERE
  (
    (
      "t0"."created_at" IS NOT NULL
    )
    AND (
      (
        "t0"."created_at" >= TIMESTAMP_FROM_PARTS(2024, 1, 31, 12, 0, 0, 0)
      )
      AND (
        "t0"."created_at" <= TIMESTAMP_FROM_PARTS(2024, 3, 1, 12, 0, 0, 0)
      )
    )
  )
  OR (
    (
      "t0"."created_at" IS NOT NULL
    )
    AND (
      "t0"."created_at" < TIMESTAMP_FROM_PARTS(2024, 2, 23, 12, 0, 0, 0)
    )
  )
  OR (
    (
      "t0"."birth_date" IS NOT NULL
    )
    AND (
      (
        "t0"."birth_date" >= DATE_FROM_PARTS(2024, 3, 1)
      )
      AND (
        "t0"."birth_date" <= DATE_FROM_PARTS(2024, 3, 15)
      )
    )
  )
  OR (
    (
      "t0"."birth_date" IS NOT NULL
    )
    AND (
      (
        DATE_PART(month, "t0"."birth_date") = 3
      )
      AND (
        DATE_PART(day, "t0"."birth_date") = 1
      )
    )
  )
