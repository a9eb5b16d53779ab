"""Dialog Insight: synchronize contacts of a project (Contacts.Merge)."""
