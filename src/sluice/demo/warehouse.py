"""The e-commerce demo warehouse: deterministic, set-wise, with deliberate dirt.

Every value is a pure function of ``(row number, seed, column tag)`` through DuckDB's ``hash()``,
so the same seed and ``as_of`` date give the same data on any machine, and generation is
parallel SQL with no Python loop over rows. 10M users are feasible on a laptop.

Deliberate dirt (counted in :class:`DemoSummary.dirt_counts`):

- ~0.1% of user rows reuse the previous row's ``user_id`` (duplicate keys);
- ~0.02% of user rows have no ``user_id`` (null keys);
- ~0.5% null emails, ~0.5% malformed emails, ~0.1% emails shared with another user;
- users with no orders (order volume follows a Pareto-like skew).

Planted signal for AI predictions (so churn, LTV and recommendations have something to learn):

- ~45% of users *lapse*: from a day of their own they stop ordering and browsing, so recency,
  frequency and engagement together predict who buys again (churn) and how much (LTV);
- gold and platinum members put more lines in each order (tier predicts spend);
- three order lines in four come from the user's preferred category (co-purchases cluster).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from sluice.demo import vocabulary as vocab
from sluice.demo.identity_people import IDENTITY_TABLES, add_identity_tables
from sluice.demo.sql_text import sql_list, weighted_case

ProgressCallback = Callable[[str, float], None]

TABLES = ("companies", "products", "users", "order_items", "orders", "events")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class DemoSize:
    """Row volumes derived from the number of users."""

    users: int

    @property
    def companies(self) -> int:
        return max(20, self.users // 40)

    @property
    def products(self) -> int:
        return min(5000, max(100, self.users // 200))

    @property
    def orders(self) -> int:
        return self.users * 5 // 2

    @property
    def browsing_events(self) -> int:
        return self.users * 6


@dataclass
class DemoSummary:
    """What ``sluice demo init`` built."""

    path_or_url: str
    table_counts: dict[str, int] = field(default_factory=dict)
    dirt_counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    seconds: float = 0.0


def build_demo_warehouse(
    *,
    users: int,
    seed: int = 42,
    path: Path | None = None,
    url: str | None = None,
    as_of: date | None = None,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Generate the demo warehouse into a DuckDB file (``path``) or a PostgreSQL database (``url``)."""
    if (path is None) == (url is None):
        raise ValueError("give exactly one of path or url")
    if users < 100:
        raise ValueError("the demo needs at least 100 users")
    started = time.perf_counter()
    report = progress or (lambda _step, _fraction: None)
    as_of = as_of or datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="sluice-demo-") as scratch:
        target = path if path is not None else Path(scratch) / "demo.duckdb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        with duckdb.connect(str(target)) as con:
            con.execute("SET enable_progress_bar = false")
            generate(con, DemoSize(users), seed=seed, as_of=as_of, report=report)
            summary = summarize(con, str(path) if path is not None else _redact_url(url or ""))
            # Identity resolution data (with ground truth); not part of the fingerprint above.
            summary.table_counts.update(add_identity_tables(con, seed=seed))
            if url is not None:
                from sluice.demo.postgres_load import copy_tables_to_postgres

                report("loading into PostgreSQL", 0.9)
                copy_tables_to_postgres(con, url, (*TABLES, *IDENTITY_TABLES), scratch=Path(scratch))
    summary.seconds = time.perf_counter() - started
    report("done", 1.0)
    return summary


def generate(
    con: duckdb.DuckDBPyConnection, size: DemoSize, *, seed: int, as_of: date, report: ProgressCallback
) -> None:
    """Create every demo table in ``con``."""
    define_macros(con, size, seed=seed, as_of=as_of)
    steps: Sequence[tuple[str, str]] = (
        ("companies", companies_sql(size)),
        ("products", products_sql(size)),
        ("users", users_sql(size)),
        ("order_items", order_items_sql(size)),
        ("orders", orders_sql(size)),
        ("events", events_sql(size)),
    )
    for number, (name, sql) in enumerate(steps):
        report(f"generating {name}", number / (len(steps) + 1))
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")


def define_macros(con: duckdb.DuckDBPyConnection, size: DemoSize, *, seed: int, as_of: date) -> None:
    """Deterministic randomness and per-user attributes shared by several tables."""
    country_index = weighted_case("rnd(j, 'country')", list(enumerate(vocab.COUNTRY_WEIGHTS)))
    macros = [
        f"h(i, tag) AS hash(i, {int(seed)}, tag)",
        "rnd(i, tag) AS (h(i, tag) % 1000003) / 1000003.0",
        "pick(lst, i, tag) AS lst[1 + (h(i, tag) % len(lst))::BIGINT]",
        f"anchor() AS TIMESTAMP '{as_of.isoformat()} 00:00:00'",
        "ago(days) AS anchor() - to_seconds(CAST(days * 86400 AS BIGINT))",
        # Per-user attributes as functions of the user's row index j, so orders and events
        # can use them without joining the users table.
        "signup_days_ago(j) AS 1095 * pow(rnd(j, 'created'), 1.3) + 1",
        # Lapsed users stop ordering and browsing this many days ago (0: still active).
        "lapse_days_ago(j) AS CASE WHEN rnd(j, 'lapse') < 0.45"
        " THEN signup_days_ago(j) * pow(rnd(j, 'lapse_at'), 0.7) ELSE 0 END",
        # A day in [0, span) days ago, moved into the user's active period [lapse, span).
        "active_days_ago(j, span, x) AS least(lapse_days_ago(j), span) + (span - least(lapse_days_ago(j), span)) * x",
        "big_basket(j) AS rnd(j, 'tier') >= 0.83",
        f"country_idx(j) AS {country_index}",
        "device_id(j, k) AS 'anon_' || substr(md5(j::VARCHAR || ':' || k::VARCHAR || ':device'), 1, 12)",
        f"skewed_user(i, tag, power) AS floor({size.users} * pow(rnd(i, tag), power))::BIGINT",
        f"email_local(j) AS lower(strip_accents(pick({sql_list(vocab.FIRST_NAMES)}, j, 'fn')))"
        f" || '.' || lower(replace(strip_accents(pick({sql_list(vocab.LAST_NAMES)}, j, 'ln')), ' ', ''))"
        " || (j + 1)::VARCHAR",
        f"email_domain(j) AS pick({sql_list(vocab.EMAIL_DOMAINS)}, j, 'domain')",
    ]
    for macro in macros:
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")


def companies_sql(size: DemoSize) -> str:
    countries = sql_list([c[0] for c in vocab.COUNTRIES])
    return f"""
    SELECT i + 1 AS company_id,
           pick({sql_list(vocab.COMPANY_WORDS)}, i, 'cw') || ' ' || pick({sql_list(vocab.COMPANY_SUFFIXES)}, i, 'cs')
               || CASE WHEN i >= 160 THEN ' ' || (i + 1)::VARCHAR ELSE '' END AS name,
           lower(pick({sql_list(vocab.COMPANY_WORDS)}, i, 'cw') || pick({sql_list(vocab.COMPANY_SUFFIXES)}, i, 'cs'))
               || (i + 1)::VARCHAR || '.com' AS domain,
           pick({sql_list(vocab.INDUSTRIES)}, i, 'industry') AS industry,
           CAST(5 + floor(exp(rnd(i, 'employees') * 8)) AS INTEGER) AS employees,
           {countries}[1 + country_idx(i)] AS country
    FROM range({size.companies}) t(i)
    """


def products_sql(size: DemoSize) -> str:
    categories = sql_list([c[0] for c in vocab.CATEGORIES])
    lows = "[" + ", ".join(str(c[1]) for c in vocab.CATEGORIES) + "]"
    highs = "[" + ", ".join(str(c[2]) for c in vocab.CATEGORIES) + "]"
    return f"""
    WITH base AS (
        SELECT i, 1 + (h(i, 'category') % {len(vocab.CATEGORIES)})::BIGINT AS c FROM range({size.products}) t(i)
    )
    SELECT i + 1 AS product_id,
           'SKU-' || lpad((i + 1)::VARCHAR, 6, '0') AS sku,
           pick({sql_list(vocab.PRODUCT_ADJECTIVES)}, i, 'adj') || ' ' || {categories}[c] || ' #' || (i + 1)::VARCHAR
               AS name,
           {categories}[c] AS category,
           pick({sql_list(vocab.BRANDS)}, i, 'brand') AS brand,
           round({lows}[c] + ({highs}[c] - {lows}[c]) * pow(rnd(i, 'price'), 2), 2)::DOUBLE AS price
    FROM base
    """


def users_sql(size: DemoSize) -> str:
    countries = sql_list([c[0] for c in vocab.COUNTRIES])
    prefixes = sql_list([c[1] for c in vocab.COUNTRIES])
    cities = "[" + ", ".join(sql_list(c[3]) for c in vocab.COUNTRIES) + "]"
    malformed = " ".join(
        f"WHEN {n} THEN {_malformed_email(pattern)}"
        for n, pattern in enumerate(vocab.MALFORMED_EMAIL_PATTERNS)
    )
    tier = weighted_case(
        "rnd(j, 'tier')", list(zip(_quoted(vocab.LOYALTY_TIERS), (55, 28, 13, 4), strict=True))
    )
    return f"""
    WITH base AS (
        SELECT j, country_idx(j) + 1 AS c, signup_days_ago(j) AS signup, rnd(j, 'email') AS e
        FROM range({size.users}) t(j)
    )
    SELECT
        CASE WHEN rnd(j, 'null_id') < 0.0002 THEN NULL
             WHEN j > 0 AND rnd(j, 'dup_id') < 0.001 THEN j
             ELSE j + 1 END::BIGINT AS user_id,
        CASE WHEN e < 0.005 THEN NULL
             WHEN e < 0.010 THEN CASE (h(j, 'malformed') % {len(vocab.MALFORMED_EMAIL_PATTERNS)})::INTEGER
                                 {malformed} END
             WHEN e < 0.011 AND j > 0 THEN email_local(j - 1) || '@' || email_domain(j - 1)
             ELSE email_local(j) || '@' || email_domain(j) END AS email,
        CASE WHEN rnd(j, 'phone') < 0.2 THEN NULL
             ELSE {prefixes}[c] || lpad((h(j, 'digits') % 1000000000)::VARCHAR, 9, '0') END AS phone,
        pick({sql_list(vocab.FIRST_NAMES)}, j, 'fn') AS first_name,
        pick({sql_list(vocab.LAST_NAMES)}, j, 'ln') AS last_name,
        CASE WHEN rnd(j, 'gender') < 0.48 THEN 'female' WHEN rnd(j, 'gender') < 0.96 THEN 'male' ELSE 'other' END
            AS gender,
        {countries}[c] AS country,
        pick({cities}[c], j, 'city') AS city,
        CASE WHEN rnd(j, 'birth_null') < 0.05 THEN NULL
             ELSE CAST(ago(6570 + 21900 * pow(rnd(j, 'birth'), 1.6)) AS DATE) END AS birth_date,
        ago(signup) AS created_at,
        ago(signup * rnd(j, 'updated')) AS updated_at,
        {tier} AS loyalty_tier,
        rnd(j, 'email_consent') < 0.62 AS email_consent,
        rnd(j, 'sms_consent') < 0.35 AS sms_consent,
        CASE WHEN rnd(j, 'crm') < 0.9 THEN 'CRM-' || lpad((j + 1)::VARCHAR, 8, '0') END AS crm_id,
        CASE WHEN rnd(j, 'intercom') < 0.7 THEN 'ic_' || substr(md5(j::VARCHAR || ':ic'), 1, 16) END
            AS intercom_user_id,
        CASE WHEN rnd(j, 'voyado') < 0.6 THEN {_uuid_from("j::VARCHAR || ':voyado'")} END AS voyado_contact_id,
        CASE WHEN rnd(j, 'company') < 0.3 THEN 1 + (h(j, 'company_id') % {size.companies})::BIGINT END
            AS company_id
    FROM base
    """


def order_items_sql(size: DemoSize) -> str:
    categories = sql_list([c[0] for c in vocab.CATEGORIES])
    return f"""
    WITH buyers AS (
        SELECT o, skewed_user(o, 'buyer', 1.5) AS j FROM range({size.orders}) t(o)
    ),
    lines AS (
        SELECT o, j, unnest(range(1 + floor(pow(rnd(o, 'lines'), 2)
                                            * CASE WHEN big_basket(j) THEN 7 ELSE 4 END)::BIGINT)) AS line
        FROM buyers
    ),
    ranked AS (
        SELECT product_id, price, category, row_number() OVER (PARTITION BY category ORDER BY product_id) AS r
        FROM products
    ),
    sizes AS (SELECT category, count(*) AS n FROM products GROUP BY category),
    wanted AS (
        SELECT o, line, o * 8 + line AS k, s.category, s.n
        FROM lines
        LEFT JOIN sizes s ON rnd(o * 8 + line, 'loyal') < 0.75
                         AND s.category = {categories}[1 + (h(j, 'preferred') % {len(vocab.CATEGORIES)})::BIGINT]
    )
    SELECT k + 1 AS order_item_id,
           o + 1 AS order_id,
           coalesce(mine.product_id, any_product.product_id) AS product_id,
           CAST(1 + floor(pow(rnd(k, 'qty'), 3) * 3) AS INTEGER) AS quantity,
           coalesce(mine.price, any_product.price) AS unit_price
    FROM wanted
    LEFT JOIN ranked mine ON mine.category = wanted.category
                         AND mine.r = 1 + floor(wanted.n * pow(rnd(k, 'product'), 2))::BIGINT
    JOIN products any_product
        ON any_product.product_id = 1 + floor({size.products} * pow(rnd(k, 'product'), 2.5))::BIGINT
    """


def orders_sql(size: DemoSize) -> str:
    currencies = sql_list([c[2] for c in vocab.COUNTRIES])
    status = weighted_case("rnd(o, 'status')", [("'completed'", 90), ("'refunded'", 6), ("'cancelled'", 4)])
    channel = weighted_case("rnd(o, 'channel')", [("'web'", 62), ("'app'", 28), ("'store'", 10)])
    # 18% of orders fall in the Black Friday / Christmas window of one of the last two years.
    holiday_days_ago = (
        "date_diff('day', make_date(year(anchor())::BIGINT - 1 - (h(o, 'year') % 2)::BIGINT, 11, 20)"
        " + to_days(CAST(h(o, 'hday') % 35 AS INTEGER)), anchor())"
    )
    return f"""
    WITH base AS (
        SELECT o, skewed_user(o, 'buyer', 1.5) AS j FROM range({size.orders}) t(o)
    ),
    timed AS (
        SELECT o, j,
               CASE WHEN rnd(o, 'season') < 0.18 AND {holiday_days_ago} < signup_days_ago(j)
                    THEN {holiday_days_ago} + rnd(o, 'hour')
                    ELSE signup_days_ago(j) * rnd(o, 'when') END AS natural_days_ago
        FROM base
    ),
    lapsed AS (
        SELECT o, j, active_days_ago(j, signup_days_ago(j), natural_days_ago / signup_days_ago(j)) AS days_ago
        FROM timed
    ),
    totals AS (
        SELECT order_id, round(sum(quantity * unit_price), 2) AS total FROM order_items GROUP BY order_id
    )
    SELECT o + 1 AS order_id,
           j + 1 AS user_id,
           ago(days_ago) AS ordered_at,
           {status} AS status,
           totals.total::DOUBLE AS total,
           {currencies}[1 + country_idx(j)] AS currency,
           {channel} AS channel
    FROM lapsed JOIN totals ON totals.order_id = o + 1
    """


def events_sql(size: DemoSize) -> str:
    names = [(f"'{name}'", weight) for name, weight in vocab.EVENT_WEIGHTS]
    event_name = weighted_case("rnd(e, 'name')", names)
    product = f"1 + floor({size.products} * pow(rnd(e, 'viewed'), 2.5))::BIGINT"
    return f"""
    WITH base AS (
        SELECT e, skewed_user(e, 'visitor', 1.5) AS j, {event_name} AS event_name,
               rnd(e, 'anonymous') < 0.12 AS anonymous
        FROM range({size.browsing_events}) t(e)
    ),
    browsing AS (
        SELECT 'ev_' || lpad(e::VARCHAR, 10, '0') AS event_id,
               CASE WHEN anonymous THEN NULL ELSE j + 1 END::BIGINT AS user_id,
               device_id(j, h(e, 'device') % 2) AS anonymous_id,
               event_name,
               ago(active_days_ago(j, least(730, signup_days_ago(j)), rnd(e, 'when'))) AS occurred_at,
               CASE WHEN event_name IN ('product_view', 'add_to_cart') THEN {product} END AS product_id,
               CASE event_name
                   WHEN 'page_view' THEN json_object('page', pick({sql_list(vocab.PAGES)}, e, 'page'))
                   WHEN 'product_view' THEN json_object('product_id', {product})
                   WHEN 'add_to_cart' THEN json_object('product_id', {product},
                                                       'quantity', 1 + (h(e, 'q') % 2)::INTEGER)
                   ELSE json_object('campaign', 'Newsletter week ' || (1 + h(e, 'week') % 52)::VARCHAR)
               END AS properties
        FROM base
    ),
    purchases AS (
        SELECT 'ev_order_' || order_id::VARCHAR AS event_id,
               user_id,
               device_id(user_id - 1, h(order_id, 'device') % 2) AS anonymous_id,
               'purchase' AS event_name,
               ordered_at AS occurred_at,
               NULL::BIGINT AS product_id,
               json_object('order_id', order_id, 'revenue', total, 'currency', currency) AS properties
        FROM orders WHERE status = 'completed'
    )
    SELECT * FROM browsing UNION ALL SELECT * FROM purchases
    """


def summarize(con: duckdb.DuckDBPyConnection, where: str) -> DemoSummary:
    """Count rows and deliberate dirt, and fingerprint the content (identical for identical data)."""
    summary = DemoSummary(path_or_url=where)
    digest = hashlib.sha256()
    for name in TABLES:
        count, content_hash = _fetch(con, f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {name} t")
        summary.table_counts[name] = int(count)
        digest.update(f"{name}:{count}:{content_hash};".encode())
    summary.fingerprint = digest.hexdigest()[:16]
    checks = {
        "duplicate user_id rows": "SELECT count(*) FROM users WHERE user_id IN "
        "(SELECT user_id FROM users GROUP BY user_id HAVING count(*) > 1)",
        "null user_id": "SELECT count(*) FROM users WHERE user_id IS NULL",
        "null emails": "SELECT count(*) FROM users WHERE email IS NULL",
        "malformed emails": f"SELECT count(*) FROM users WHERE NOT regexp_full_match(email, '{EMAIL_PATTERN}')",
        "emails shared by several users": "SELECT count(*) FROM (SELECT email FROM users WHERE email IS NOT NULL "
        "GROUP BY email HAVING count(*) > 1)",
        "users without orders": "SELECT count(*) FROM users u WHERE NOT EXISTS "
        "(SELECT 1 FROM orders o WHERE o.user_id = u.user_id)",
    }
    for label, sql in checks.items():
        summary.dirt_counts[label] = int(_fetch(con, sql)[0])
    return summary


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = con.sql(sql).fetchall()[0]
    return tuple(int(value) for value in row)


def _malformed_email(pattern: str) -> str:
    parts = pattern.replace("{local}", "\x00L\x00").replace("{domain}", "\x00D\x00").split("\x00")
    pieces = [
        "email_local(j)" if part == "L" else "email_domain(j)" if part == "D" else f"'{part}'"
        for part in parts
        if part
    ]
    return " || ".join(pieces)


def _uuid_from(expression: str) -> str:
    digest = f"md5({expression})"
    spans = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return " || '-' || ".join(f"substr({digest}, {start}, {length})" for start, length in spans)


def _quoted(values: Sequence[str]) -> list[str]:
    return [f"'{value}'" for value in values]


def _redact_url(url: str) -> str:
    """Drop the password from a database URL before it is printed."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
