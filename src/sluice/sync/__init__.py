"""The sync engine: extract → validate → diff → plan → load → commit (BRIEF §4)."""
