"""Standard meanings a field can carry, so activations pre-fill mappings and segments find key fields."""

from __future__ import annotations

STANDARD_MEANINGS: dict[str, str] = {
    "email": "E-mail address",
    "phone": "Phone number (E.164)",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "gender": "Gender",
    "birth_date": "Date of birth",
    "country": "Country (ISO 3166 alpha-2)",
    "city": "City",
    "postal_code": "Postal code",
    "address": "Street address",
    "language": "Preferred language",
    "external_id": "Your own user id (CRM id, customer number)",
    "anonymous_id": "Anonymous / device id",
    "company_name": "Company name",
    "domain": "Company web domain",
    "email_consent": "Consent to e-mail marketing",
    "sms_consent": "Consent to SMS marketing",
    "event_name": "Name of the event (events models)",
    "revenue": "Monetary value of the row",
    "currency": "Currency (ISO 4217)",
    "created_at": "When the record was created",
}
