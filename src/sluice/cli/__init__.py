"""The ``sluice`` command line (Typer)."""
