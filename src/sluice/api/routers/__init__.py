"""API routers, one module per resource. Each module exposes ``router``; all are mounted automatically."""
