"""Selligent / Marigold Engage: profile list records (upsert) and static segments (membership)."""
