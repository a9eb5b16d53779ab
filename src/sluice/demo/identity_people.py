"""Identity resolution demo data: the demo's users again, as a CRM and a newsletter would hold them.

Two extra tables built from ``users`` (which is left untouched), each ending with a
``true_person_id`` column (the ``user_id`` of the person the row really is) so a run can be scored:

- ``crm_contacts`` (~60% of people): e-mails re-typed (case, spaces, Gmail dots and ``+tags``),
  phones in other formats (spaced, ``00`` prefix, French national format), the CRM id as
  ``customer_number``, first names with typos; ~4% of people have a second contact with a work
  e-mail, a typo'd name and no customer number (same phone when known);
- ``newsletter_signups`` (~50% of people): mostly the same e-mail (case changes), sometimes the
  Gmail variant, sometimes an unrelated personal address (only fuzzy matching can link it), the
  personal address swapped into ``alt_email``, first and last name swapped, typos, partial birth dates.

~2% of people share a household e-mail with the next person (both are CRM customers, and their
contacts and sign-ups use it): a classic over-merge trap that profile limits (one CRM id per
profile) and a cap on profiles per value defuse.
Deterministic like the rest of the demo: every value is a function of (row, seed, tag).
"""

from __future__ import annotations

import duckdb

IDENTITY_TABLES = ("crm_contacts", "newsletter_signups")


def _typo_sql(expr: str, i: str, tag: str) -> str:
    """SQL that introduces one typo into ``expr`` (drop, double or swap a letter at a position >= 2)."""
    k = f"(2 + (idr_h({i}, '{tag}k') % greatest(length({expr}) - 2, 1))::BIGINT)"
    kind = f"(idr_h({i}, '{tag}') % 3)"
    return (
        f"CASE WHEN {expr} IS NULL OR length({expr}) < 3 THEN {expr}"
        f" WHEN {kind} = 0 THEN left({expr}, {k} - 1) || substr({expr}, {k} + 1)"
        f" WHEN {kind} = 1 THEN left({expr}, {k}) || substr({expr}, {k})"
        f" ELSE left({expr}, {k} - 1) || substr({expr}, {k} + 1, 1) || substr({expr}, {k}, 1)"
        f" || substr({expr}, {k} + 2) END"
    )


def _gmail_variant(email: str, i: str, tag: str) -> str:
    """The same Gmail inbox spelled differently (dots moved, ``+tag``), other domains unchanged."""
    local = f"split_part({email}, '@', 1)"
    return (
        f"CASE WHEN {email} LIKE '%@gmail.com' THEN"
        f" CASE WHEN idr_rnd({i}, '{tag}') < 0.5 THEN replace({local}, '.', '') || '+shop@gmail.com'"
        f" ELSE left({local}, 2) || '.' || substr(replace({local}, '.', ''), 3) || '@googlemail.com' END"
        f" ELSE {email} END"
    )


def _phone_variant(phone: str, i: str, tag: str) -> str:
    """The same number as people type it: spaced, ``00`` prefix, or French national format."""
    r = f"idr_rnd({i}, '{tag}')"
    return (
        f"CASE WHEN {phone} IS NULL THEN NULL"
        f" WHEN {phone} LIKE '+33%' AND {r} < 0.4 THEN '0' || substr({phone}, 4, 1) || ' '"
        f" || substr({phone}, 5, 2) || ' ' || substr({phone}, 7, 2) || ' ' || substr({phone}, 9, 2)"
        f" || ' ' || substr({phone}, 11)"
        f" WHEN {r} < 0.6 THEN '00' || substr({phone}, 2)"
        f" WHEN {r} < 0.8 THEN left({phone}, 3) || ' ' || substr({phone}, 4, 3) || '-' || substr({phone}, 7)"
        f" ELSE {phone} END"
    )


def people_sql() -> str:
    """Users with a unique ``user_id`` (the people), a dense row number and their household key."""
    return """
    WITH ranked AS (
        SELECT *, row_number() OVER (ORDER BY user_id, email, first_name, last_name, created_at) AS n
        FROM users WHERE user_id IS NOT NULL
    )
    SELECT *,
           CASE WHEN idr_rnd(n, 'family') < 0.02 THEN n
                WHEN idr_rnd(n - 1, 'family') < 0.02 THEN n - 1 END AS household
    FROM ranked
    """


def crm_contacts_sql() -> str:
    household_email = (
        "'home.' || lower(replace(last_name, ' ', '')) || household::VARCHAR || '@familymail.net'"
    )
    personal = (
        "CASE WHEN household IS NOT NULL THEN " + household_email + " ELSE "
        "CASE WHEN idr_rnd(n, 'crm_email') < 0.70 THEN email"
        " WHEN idr_rnd(n, 'crm_email') < 0.80 THEN upper(email)"
        " WHEN idr_rnd(n, 'crm_email') < 0.85 THEN ' ' || email || ' '"
        f" WHEN idr_rnd(n, 'crm_email') < 0.95 THEN {_gmail_variant('email', 'n', 'crm_gmail')}"
        " ELSE NULL END END"
    )
    work = (
        "lower(strip_accents(first_name)) || '.' || lower(replace(strip_accents(last_name), ' ', ''))"
        " || n::VARCHAR || '@work' || (idr_h(n, 'work') % 500)::VARCHAR || '.example'"
    )
    return f"""
    WITH people AS ({people_sql()}),
    picked AS (SELECT * FROM people WHERE idr_rnd(n, 'crm_pick') < 0.6 OR household IS NOT NULL),
    copies AS (
        SELECT *, 0 AS copy FROM picked
        UNION ALL SELECT *, 1 AS copy FROM picked WHERE idr_rnd(n, 'crm_dup') < 0.04
    )
    SELECT 'CT-' || lpad((row_number() OVER (ORDER BY n, copy))::VARCHAR, 8, '0') AS contact_id,
           CASE WHEN copy = 0 THEN {personal} ELSE {work} END AS email,
           {_phone_variant("phone", "n * 2 + copy", "crm_phone")} AS phone,
           CASE WHEN copy = 1 OR idr_rnd(n, 'crm_typo') < 0.05 THEN {_typo_sql("first_name", "n * 2 + copy", "crm_fn")}
                ELSE first_name END AS first_name,
           last_name,
           city,
           birth_date,
           CASE WHEN copy = 1 THEN NULL WHEN household IS NOT NULL THEN coalesce(crm_id, 'CRM-H' || n::VARCHAR)
                ELSE crm_id END AS customer_number,
           updated_at - to_days(CAST(idr_h(n * 2 + copy, 'crm_upd') % 90 AS INTEGER)) AS updated_at,
           user_id AS true_person_id
    FROM copies
    """


def newsletter_sql() -> str:
    household_email = (
        "'home.' || lower(replace(last_name, ' ', '')) || household::VARCHAR || '@familymail.net'"
    )
    other = (
        "lower(strip_accents(first_name)) || lower(replace(strip_accents(last_name), ' ', ''))"
        " || n::VARCHAR || '@othermail.com'"
    )
    email = (
        f"CASE WHEN household IS NOT NULL THEN {household_email}"
        " WHEN idr_rnd(n, 'nl_email') < 0.70 THEN email"
        " WHEN idr_rnd(n, 'nl_email') < 0.78 THEN upper(left(email, 1)) || substr(email, 2)"
        f" WHEN idr_rnd(n, 'nl_email') < 0.88 THEN {_gmail_variant('email', 'n', 'nl_gmail')}"
        f" ELSE {other} END"
    )
    swapped = "idr_rnd(n, 'nl_swap_email') < 0.05"
    names_swapped = "idr_rnd(n, 'nl_swap_name') < 0.03"
    first = f"CASE WHEN idr_rnd(n, 'nl_typo') < 0.08 THEN {_typo_sql('first_name', 'n', 'nl_fn')} ELSE first_name END"
    return f"""
    WITH people AS ({people_sql()}),
    picked AS (SELECT *, {email} AS personal FROM people WHERE idr_rnd(n, 'nl_pick') < 0.5)
    SELECT 'NL-' || lpad((row_number() OVER (ORDER BY n))::VARCHAR, 8, '0') AS signup_id,
           CASE WHEN {swapped} THEN 'promo' || n::VARCHAR || '@inbox.example' ELSE personal END AS email,
           CASE WHEN {swapped} THEN personal END AS alt_email,
           CASE WHEN {names_swapped} THEN last_name ELSE {first} END AS first_name,
           CASE WHEN {names_swapped} THEN first_name ELSE last_name END AS last_name,
           city,
           CASE WHEN idr_rnd(n, 'nl_birth') < 0.7 THEN birth_date END AS birth_date,
           created_at + to_days(CAST(idr_h(n, 'nl_at') % 30 AS INTEGER)) AS signed_up_at,
           user_id AS true_person_id
    FROM picked
    """


def add_identity_tables(con: duckdb.DuckDBPyConnection, *, seed: int) -> dict[str, int]:
    """Create (or replace) the identity tables from ``users`` in ``con``; returns row counts."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO idr_h(i, tag) AS hash(i, {int(seed)}, tag)")
    con.execute("CREATE OR REPLACE TEMP MACRO idr_rnd(i, tag) AS (idr_h(i, tag) % 1000003) / 1000003.0")
    con.execute(f"CREATE OR REPLACE TABLE crm_contacts AS {crm_contacts_sql()}")
    con.execute(f"CREATE OR REPLACE TABLE newsletter_signups AS {newsletter_sql()}")
    counts = {}
    for name in IDENTITY_TABLES:
        row = con.sql(f"SELECT count(*) FROM {name}").fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts
