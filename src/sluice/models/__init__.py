"""Models: tables or SQL on a source, their fields, keys, relationships and calculated fields."""
