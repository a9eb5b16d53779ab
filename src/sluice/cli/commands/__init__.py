"""Sub-commands of ``sluice``; each module exposes ``register(app: typer.Typer)``."""
