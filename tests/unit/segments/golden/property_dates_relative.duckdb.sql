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
        "t0"."created_at" >= MAKE_TIMESTAMP(2024, 1, 31, 12, 0, 0.0)
      )
      AND (
        "t0"."created_at" <= MAKE_TIMESTAMP(2024, 3, 1, 12, 0, 0.0)
      )
    )
  )
  OR (
    (
      "t0"."created_at" IS NOT NULL
    )
    AND (
      "t0"."created_at" < MAKE_TIMESTAMP(2024, 2, 23, 12, 0, 0.0)
    )
  )
  OR (
    (
      "t0"."birth_date" IS NOT NULL
    )
    AND (
      (
        "t0"."birth_date" >= MAKE_DATE(2024, 3, 1)
      )
      AND (
        "t0"."birth_date" <= MAKE_DATE(2024, 3, 15)
      )
    )
  )
  OR (
    (
      "t0"."birth_date" IS NOT NULL
    )
    AND (
      (
        EXTRACT(month FROM "t0"."birth_date") = 3
      )
      AND (
        EXTRACT(day FROM "t0"."birth_date") = 1
      )
    )
  )
