SELECT
  *
FROM "users" AS "t0"
WHERE
  "t0"."user_id" IS NOT NULL
  AND "t0"."user_id" IN (
    SELECT
      "t8"."__link"
    FROM (
      SELECT
        "t7"."__link",
        COUNT(*) AS "__metric"
      FROM (
        SELECT
          "t5"."user_id" AS "__link",
          1 AS "__value"
        FROM (
          SELECT
            *
          FROM "events" AS "t1"
          WHERE
            "t1"."event_name" IS NOT NULL
            AND "t1"."event_name" = 'purchase'
            AND "t1"."occurred_at" IS NOT NULL
            AND "t1"."occurred_at" >= MAKE_TIMESTAMP(2024, 1, 31, 12, 0, 0.0)
            AND "t1"."occurred_at" <= MAKE_TIMESTAMP(2024, 3, 1, 12, 0, 0.0)
            AND COALESCE(TRY_CAST(CAST("t1"."properties" -> '$.revenue' AS TEXT) AS DOUBLE) > 50.0, FALSE)
        ) AS "t5"
        WHERE
          "t5"."user_id" IS NOT NULL
      ) AS "t7"
      GROUP BY
        1
    ) AS "t8"
    WHERE
      "t8"."__metric" >= 2.0
  )
  AND NOT (
    (
      "t0"."user_id" IS NOT NULL
    )
    AND "t0"."user_id" IN (
      SELECT
        "t1"."user_id" AS "__link"
      FROM "events" AS "t1"
      WHERE
        "t1"."event_name" IS NOT NULL
        AND "t1"."event_name" = 'email_open'
        AND "t1"."occurred_at" IS NOT NULL
        AND "t1"."occurred_at" >= MAKE_TIMESTAMP(2024, 1, 1, 0, 0, 0.0)
        AND "t1"."occurred_at" < MAKE_TIMESTAMP(2024, 2, 1, 0, 0, 0.0)
        AND "t1"."user_id" IS NOT NULL
    )
  )
  AND "t0"."user_id" IN (
    SELECT
      "t4"."__link"
    FROM (
      SELECT
        "t2"."__link",
        COUNT(*) AS "__metric"
      FROM (
        SELECT
          "t1"."user_id" AS "__link",
          1 AS "__value"
        FROM "events" AS "t1"
        WHERE
          "t1"."event_name" IS NOT NULL
          AND "t1"."event_name" = 'add_to_cart'
          AND "t1"."user_id" IS NOT NULL
      ) AS "t2"
      GROUP BY
        1
    ) AS "t4"
    WHERE
      "t4"."__metric" = 1.0
  )
