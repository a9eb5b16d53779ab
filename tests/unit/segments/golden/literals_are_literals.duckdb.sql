SELECT
  *
FROM "users" AS "t0"
WHERE
  (
    (
      "t0"."country" IS NOT NULL
    )
    AND (
      "t0"."country" = '''; DROP TABLE users; --'
    )
  )
  OR (
    (
      "t0"."email" IS NOT NULL
    ) AND CONTAINS("t0"."email", 'Zoë "日本" \ %_')
  )
