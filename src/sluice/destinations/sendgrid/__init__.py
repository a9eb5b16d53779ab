"""SendGrid Marketing Campaigns destination: contacts (async upsert jobs) and contact lists."""
