"""``sluice bench identity``: precision and recall of identity resolution against known ground truth.

Builds a demo warehouse of N users plus its identity tables (``crm_contacts`` and
``newsletter_signups``, each with ``true_person_id``; see :mod:`sluice.demo.identity_people`), runs
the deterministic graph (crm id, e-mail, phone; one user id and one CRM id per profile) in the
warehouse, then the same graph with Splink's probabilistic matching on names, city and birth date,
and scores both as pairwise merge precision and recall over records whose true person is known
(people sharing a ``user_id`` in the dirty users table are left out). Last line:
``RESULT identity precision=<p> recall=<r>`` for the full pipeline (deterministic + Splink).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import typer

from sluice.demo.identity_graph import people_spec
from sluice.identity.spec import IdentitySpec

AS_OF = date(2026, 1, 15)


def bench_spec(*, probabilistic: bool, threshold: float = 0.99) -> IdentitySpec:
    """The graph the benchmark runs over users, crm_contacts and newsletter_signups (the demo's)."""
    return people_spec(probabilistic=probabilistic, threshold=threshold)


@dataclass(frozen=True)
class Score:
    """Pairwise merge quality over records whose true person is known."""

    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int


TRUTH_SQL = """
WITH people AS (SELECT user_id FROM users WHERE user_id IS NOT NULL GROUP BY user_id HAVING count(*) = 1)
SELECT 'users:' || user_id::VARCHAR AS record_key, user_id AS person FROM users WHERE user_id IN (SELECT user_id FROM people)
UNION ALL
SELECT 'crm_contacts:' || contact_id, true_person_id FROM crm_contacts WHERE true_person_id IN (SELECT user_id FROM people)
UNION ALL
SELECT 'newsletter_signups:' || signup_id, true_person_id FROM newsletter_signups
WHERE true_person_id IN (SELECT user_id FROM people)
"""


def score(con: Any, records_table: str) -> Score:
    """Precision and recall of the merges in ``records_table`` (record_key, profile_id), in SQL."""
    sql = f"""
    WITH truth AS ({TRUTH_SQL}),
    scored AS (SELECT t.person, r.profile_id FROM truth t JOIN {records_table} r USING (record_key)),
    predicted AS (SELECT sum(n * (n - 1) / 2) AS pairs FROM (SELECT count(*) AS n FROM scored GROUP BY profile_id)),
    actual AS (SELECT sum(n * (n - 1) / 2) AS pairs FROM (SELECT count(*) AS n FROM scored GROUP BY person)),
    correct AS (SELECT sum(n * (n - 1) / 2) AS pairs FROM (SELECT count(*) AS n FROM scored GROUP BY person, profile_id))
    SELECT (SELECT pairs FROM actual), (SELECT pairs FROM predicted), (SELECT pairs FROM correct)
    """
    actual, predicted, correct = (int(value or 0) for value in con.execute(sql).fetchone())
    return Score(
        precision=correct / predicted if predicted else 1.0,
        recall=correct / actual if actual else 1.0,
        true_pairs=actual,
        predicted_pairs=predicted,
        correct_pairs=correct,
    )


def run_and_score(path: Path, spec: IdentitySpec, slug: str) -> tuple[Score, Any, float]:
    """Run ``spec`` on the DuckDB file and score it; returns the score, the run result and seconds."""
    import ibis

    from sluice.identity.engine import resolve
    from sluice.identity.records import InputTable
    from sluice.warehouse.connection import IbisWarehouse

    backend = ibis.duckdb.connect(str(path))
    backend.raw_sql("SET enable_progress_bar = false")
    warehouse = IbisWarehouse(backend, dialect="duckdb", default_schema="main")
    keys = {item.model: item.key or "" for item in spec.inputs}
    inputs = {name: InputTable(warehouse.table("main", name), key) for name, key in keys.items()}
    finder = None
    if spec.probabilistic.enabled:
        from sluice.identity.probabilistic import splink_pair_finder

        finder = splink_pair_finder
    started = time.perf_counter()
    result = resolve(warehouse, spec, inputs, schema="sluice", slug=slug, pair_finder=finder)
    seconds = time.perf_counter() - started
    found = score(backend.con, f"sluice.idr_{slug}_records")
    warehouse.close()
    return found, result, seconds


def prepare(users: int, work: Path, demo_path: Path | None) -> Path:
    """A demo warehouse with its identity tables (built unless given)."""
    import duckdb

    from sluice.demo.identity_people import add_identity_tables
    from sluice.demo.warehouse import build_demo_warehouse

    path = demo_path or work / "demo.duckdb"
    if demo_path is None:
        typer.echo(f"building a demo warehouse of {users:,} users")
        build_demo_warehouse(users=users, seed=42, path=path, as_of=AS_OF)
    with duckdb.connect(str(path)) as con:
        counts = add_identity_tables(con, seed=42)
    typer.echo("identity tables: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
    return path


def _line(label: str, found: Score, result: Any, seconds: float) -> str:
    return (
        f"{label:<28} precision {found.precision:.4f}  recall {found.recall:.4f}"
        f"  profiles {result.profiles:,}  merges {result.merges:,}  largest {result.largest_cluster}"
        f"  ({seconds:.1f}s)"
    )


def register(bench_app: typer.Typer) -> None:
    def bench_identity(
        users: int = typer.Option(20_000, min=100, help="Users in the demo warehouse."),
        threshold: float = typer.Option(
            0.99, min=0.5, max=0.9999, help="Splink match probability threshold."
        ),
        splink: bool = typer.Option(True, help="Also run probabilistic matching with Splink."),
        demo_path: Path | None = typer.Option(
            None, help="Use this demo warehouse (identity tables are added)."
        ),
    ) -> None:
        """Precision/recall of identity merges against the demo's ground truth (deterministic, then Splink)."""
        with tempfile.TemporaryDirectory(prefix="sluice-bench-") as scratch:
            path = prepare(users, Path(scratch), demo_path)
            deterministic, result, seconds = run_and_score(
                path, bench_spec(probabilistic=False), "bench_rules"
            )
            typer.echo(f"true pairs {deterministic.true_pairs:,} (records of the same person)")
            typer.echo(_line("deterministic rules", deterministic, result, seconds))
            for warning in result.warnings:
                typer.echo(f"  warning: {warning}")
            final = deterministic
            if splink:
                spec = bench_spec(probabilistic=True, threshold=threshold)
                final, result, seconds = run_and_score(path, spec, "bench_splink")
                typer.echo(_line(f"rules + Splink (p>={threshold})", final, result, seconds))
                gained = final.recall - deterministic.recall
                typer.echo(
                    f"Splink adds {gained:+.4f} recall at precision {final.precision:.4f}"
                    f" ({final.correct_pairs - deterministic.correct_pairs:+,} correct pairs,"
                    f" {(final.predicted_pairs - final.correct_pairs) - (deterministic.predicted_pairs - deterministic.correct_pairs):+,} wrong)"
                )
        typer.echo(f"RESULT identity precision={final.precision:.4f} recall={final.recall:.4f}")

    bench_app.command("identity")(bench_identity)
