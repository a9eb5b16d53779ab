"""Benchmarks run by ``sluice bench <name>``.

Each module here exposes ``register(bench_app: typer.Typer)`` and adds one command. A benchmark
measures Sluice and a baseline side by side in one run and prints ratios; its last line is
``RESULT <name> key=value …``. Benchmarks are never timed assertions in the test suite.
"""
