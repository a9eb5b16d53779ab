SELECT
  "t7"."user_id",
  "t7"."first_name",
  "t7"."last_name",
  "t7"."full_name",
  "t10"."__sluice_value" AS "lifetime_spend",
  COALESCE("t8"."__sluice_value", 0) AS "order_count",
  "t13"."__sluice_value" AS "last_status"
FROM (
  SELECT
    "t0"."user_id",
    "t0"."first_name",
    "t0"."last_name",
    "t0"."first_name" || ' ' || "t0"."last_name" AS "full_name"
  FROM "shop"."users" AS "t0"
) AS "t7"
LEFT OUTER JOIN (
  SELECT
    "t3"."user_id" AS "__sluice_key",
    SUM("t3"."total") AS "__sluice_value"
  FROM (
    SELECT
      *
    FROM "shop"."orders" AS "t1"
    WHERE
      "t1"."status" = 'completed'
  ) AS "t3"
  GROUP BY
    1
) AS "t10"
  ON "t7"."user_id" = "t10"."__sluice_key"
LEFT OUTER JOIN (
  SELECT
    "t2"."user_id" AS "__sluice_key",
    COUNT(*) AS "__sluice_value"
  FROM (
    SELECT
      *
    FROM "shop"."orders" AS "t1"
  ) AS "t2"
  GROUP BY
    1
) AS "t8"
  ON "t7"."user_id" = "t8"."__sluice_key"
LEFT OUTER JOIN (
  SELECT
    "t11"."user_id" AS "__sluice_key",
    "t11"."status" AS "__sluice_value"
  FROM (
    SELECT
      "t4"."order_id",
      "t4"."user_id",
      "t4"."total",
      "t4"."status",
      "t4"."ordered_at",
      ROW_NUMBER() OVER (
        PARTITION BY "t4"."user_id"
        ORDER BY "t4"."ordered_at" DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) - 1 AS "__sluice_rank"
    FROM (
      SELECT
        *
      FROM "shop"."orders" AS "t1"
      WHERE
        "t1"."ordered_at" IS NOT NULL
    ) AS "t4"
  ) AS "t11"
  WHERE
    "t11"."__sluice_rank" = 0
) AS "t13"
  ON "t7"."user_id" = "t13"."__sluice_key"
