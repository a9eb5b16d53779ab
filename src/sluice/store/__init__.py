"""Control-plane store: SQLAlchemy 2 typed tables, sessions, Alembic migrations."""
