"""Warehouse access: source types and their configs, Ibis connections, introspection, bookkeeping schema."""
