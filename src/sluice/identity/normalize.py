"""Identifier normalisation as Ibis expressions, so it runs in the warehouse on every dialect.

- email: trimmed, lower case, must look like ``local@domain.tld``; optionally Gmail dots and
  ``+suffix`` removed (``googlemail.com`` becomes ``gmail.com``) or ``+suffix`` removed everywhere;
- phone: E.164 (``+`` and 8-15 digits): ``+``/``00`` prefixes kept as international, national
  numbers (leading trunk ``0`` dropped) get the default country code, others are ignored;
- id: trimmed, lower case unless case sensitive.

Empty, malformed and blocked values become NULL: they never match anything.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluice.identity.spec import Identifier, IdentifierKind

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
NULL_TEXT = ibis.null("string")


def normalized(value: ir.Value, identifier: Identifier) -> ir.StringValue:
    """``value`` normalised for ``identifier``; NULL when unusable or blocked."""
    text = value.cast("string")
    assert isinstance(text, ir.StringValue)
    if identifier.kind == IdentifierKind.EMAIL:
        result = _email(text, identifier)
    elif identifier.kind == IdentifierKind.PHONE:
        result = _phone(text, identifier.default_country_code)
    else:
        result = _id(text, identifier.case_sensitive)
    blocked = identifier.blocked()
    if blocked:
        result = ibis.ifelse(result.isin(blocked), NULL_TEXT, result)
    return result


def _email(text: ir.StringValue, identifier: Identifier) -> ir.StringValue:
    email = text.strip().lower()
    if identifier.strip_plus:
        email = email.re_replace(r"\+[^@]*@", "@")
    if identifier.gmail_normalize:
        local = email.re_extract(r"^([^@]+)@", 1)
        domain = email.re_extract(r"@([^@]+)$", 1)
        gmail = local.re_replace(r"\+.*$", "").replace(".", "") + "@gmail.com"
        email = ibis.ifelse(domain.isin(GMAIL_DOMAINS), gmail, email)
    return ibis.ifelse(email.re_search(EMAIL_SHAPE), email, NULL_TEXT)


def _phone(text: ir.StringValue, country_code: str | None) -> ir.StringValue:
    raw = text.strip()
    digits = raw.re_replace(r"[^0-9]", "")
    cases: list[tuple[ir.BooleanValue, ir.StringValue]] = [
        (raw.startswith("+"), "+" + digits),
        (digits.startswith("00"), "+" + digits.substr(2)),
    ]
    if country_code:
        cases += [
            (digits.startswith("0"), f"+{country_code}" + digits.substr(1)),
            (digits.length() >= 6, f"+{country_code}" + digits),
        ]
    e164 = ibis.cases(*cases, else_=NULL_TEXT)
    size = e164.length()
    return ibis.ifelse((size >= 9) & (size <= 16), e164, NULL_TEXT)


def _id(text: ir.StringValue, case_sensitive: bool) -> ir.StringValue:
    value = text.strip() if case_sensitive else text.strip().lower()
    return ibis.ifelse(value.length() > 0, value, NULL_TEXT)
