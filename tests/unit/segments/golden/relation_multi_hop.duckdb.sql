SELECT
  *
FROM "users" AS "t0"
WHERE
  "t0"."user_id" IS NOT NULL
  AND "t0"."user_id" IN (
    SELECT
      "t9"."user_id" AS "__link"
    FROM (
      SELECT
        *
      FROM "orders" AS "t2"
      WHERE
        "t2"."order_id" IN (
          SELECT
            "t7"."order_id" AS "__link"
          FROM (
            SELECT
              *
            FROM "order_items" AS "t3"
            WHERE
              "t3"."product_id" IN (
                SELECT
                  "t4"."product_id" AS "__link"
                FROM "products" AS "t4"
                WHERE
                  "t4"."category" IS NOT NULL
                  AND "t4"."category" = 'shoes'
                  AND "t4"."product_id" IS NOT NULL
              )
              AND "t3"."order_id" IS NOT NULL
          ) AS "t7"
        )
        AND "t2"."user_id" IS NOT NULL
    ) AS "t9"
  )
  AND "t0"."company_id" IS NOT NULL
  AND "t0"."company_id" IN (
    SELECT
      "t1"."company_id" AS "__link"
    FROM "companies" AS "t1"
    WHERE
      "t1"."industry" IS NOT NULL
      AND "t1"."industry" IN ('retail', 'media')
      AND "t1"."company_id" IS NOT NULL
  )
