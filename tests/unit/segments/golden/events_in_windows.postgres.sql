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
          "t6"."user_id" AS "__link",
          1 AS "__value"
        FROM (
          SELECT
            *
          FROM "events" AS "t1"
          WHERE
            "t1"."event_name" IS NOT NULL
            AND "t1"."event_name" = 'purchase'
            AND "t1"."occurred_at" IS NOT NULL
            AND "t1"."occurred_at" >= CAST('2024-01-31T12:00:00' AS TIMESTAMP)
            AND "t1"."occurred_at" <= CAST('2024-03-01T12:00:00' AS TIMESTAMP)
            AND COALESCE(
              CASE
                WHEN JSON_TYPEOF(JSON_EXTRACT_PATH("t1"."properties", 'revenue')) = 'number'
                THEN CAST(JSON_EXTRACT_PATH_TEXT("t1"."properties", 'revenue') AS DOUBLE PRECISION)
                ELSE CAST(NULL AS DOUBLE PRECISION)
              END > 50.0,
              FALSE
            )
        ) AS "t6"
        WHERE
          "t6"."user_id" IS NOT NULL
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
        AND "t1"."occurred_at" >= CAST('2024-01-01T00:00:00' AS TIMESTAMP)
        AND "t1"."occurred_at" < CAST('2024-02-01T00:00:00' AS TIMESTAMP)
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
