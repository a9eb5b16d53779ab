"""HubSpot destination: CRM object upserts (contacts, companies, deals, custom objects) and list memberships."""
