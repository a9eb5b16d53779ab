SELECT
  *
FROM "users" AS "t0"
WHERE
  "t0"."country" IS NOT NULL
  AND "t0"."country" = 'FR'
  AND NOT (
    (
      "t0"."country" IS NOT NULL
    ) AND (
      "t0"."country" = 'DE'
    )
  )
  AND "t0"."tier" IS NOT NULL
  AND "t0"."tier" IN ('gold', 'platinum')
  AND NOT (
    (
      "t0"."tier" IS NOT NULL
    ) AND "t0"."tier" IN ('bronze')
  )
  AND "t0"."email" IS NOT NULL
  AND POSITION('@' IN "t0"."email") > 0
  AND NOT (
    (
      "t0"."email" IS NOT NULL
    ) AND (
      POSITION('%_' IN "t0"."email") > 0
    )
  )
  AND STARTS_WITH("t0"."email", 'anna')
  AND RIGHT("t0"."email", LENGTH('.fr')) = '.fr'
  AND "t0"."company_id" IS NULL
  AND NOT (
    "t0"."email" IS NULL
  )
