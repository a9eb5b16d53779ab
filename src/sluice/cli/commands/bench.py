"""``sluice bench``: benchmarks that print ratios measured side by side in one run."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from sluice import bench

bench_app = typer.Typer(help="Benchmarks (each prints a final `RESULT …` line).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    # Benchmark modules import most of Sluice; load them only when a benchmark is asked for, so
    # every other command starts fast.
    if "bench" in sys.argv[1:2]:
        for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
            importlib.import_module(f"{bench.__name__}.{info.name}").register(bench_app)
    app.add_typer(bench_app, name="bench")
