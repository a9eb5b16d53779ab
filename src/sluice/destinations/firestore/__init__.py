"""Google Cloud Firestore: collection documents (upsert) and audiences as collections (membership)."""
