"""``sluice bench segments``: compiled segment counts against hand-written SQL on the demo warehouse.

Builds a demo warehouse of N users, seeds the demo models and the five demo segments in a scratch
control database, and for each segment times the count query Sluice compiles (through the stored
catalog, calculated fields included) against an equivalent query written by hand, on the same
DuckDB connection, alternating runs and keeping the best of each. Both must return the same count.
Last line: ``RESULT segments ratio=<max compiled/hand> users=<N>`` (target ≤ 1.3).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select

from sluice.segments import demo as demo_segments

AS_OF = date(2026, 1, 15)


def hand_written_sql(now: datetime) -> dict[str, str]:
    """The demo segments' counts as an analyst would write them in DuckDB SQL."""
    n = now.astimezone(UTC).replace(tzinfo=None)

    def ago(days: int) -> str:
        return f"TIMESTAMP '{n - timedelta(days=days):%Y-%m-%d %H:%M:%S}'"

    at_now = f"TIMESTAMP '{n:%Y-%m-%d %H:%M:%S}'"
    spent = (
        "LEFT JOIN (SELECT user_id AS spender, sum(total) AS spent FROM orders "
        "WHERE status = 'completed' GROUP BY user_id) s ON s.spender = u.user_id"
    )
    vip = "(u.country = 'FR' AND u.loyalty_tier IN ('gold', 'platinum') AND s.spent > 1000)"
    churn = f"""(EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.user_id AND o.status = 'completed')
        AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.user_id
                        AND o.ordered_at >= {ago(180)} AND o.ordered_at <= {at_now})
        AND EXISTS (SELECT 1 FROM events e WHERE e.user_id = u.user_id AND e.event_name = 'email_open'
                    AND e.occurred_at >= {ago(30)} AND e.occurred_at <= {at_now}))"""
    return {
        demo_segments.VIP_FRANCE: f"SELECT count(*) FROM users u {spent} WHERE {vip}",
        demo_segments.CART_ABANDONERS: f"""
            SELECT count(*) FROM users u WHERE u.email_consent
            AND EXISTS (SELECT 1 FROM events e WHERE e.user_id = u.user_id AND e.event_name = 'add_to_cart'
                        AND e.occurred_at >= {ago(7)} AND e.occurred_at <= {at_now})
            AND NOT EXISTS (SELECT 1 FROM events e WHERE e.user_id = u.user_id AND e.event_name = 'purchase'
                            AND e.occurred_at >= {ago(7)} AND e.occurred_at <= {at_now})""",
        demo_segments.CHURN_RISK: f"SELECT count(*) FROM users u WHERE {churn}",
        demo_segments.NEWSLETTER: f"""
            SELECT count(*) FROM users u WHERE u.email_consent AND u.email LIKE '%@%'
            AND NOT (u.email LIKE '% %' OR u.email LIKE '%@@%' OR u.email LIKE '@%' OR u.email LIKE '%@')
            AND u.created_at < {ago(7)} AND NOT {churn}""",
        demo_segments.LOOKALIKE: f"""
            SELECT count(*) FROM users u {spent}
            WHERE ({vip} OR (
                u.user_id IN (SELECT o.user_id FROM orders o JOIN order_items i ON i.order_id = o.order_id
                              JOIN products p ON p.product_id = i.product_id
                              WHERE p.category = 'Shoes' GROUP BY o.user_id
                              HAVING sum(i.quantity * i.unit_price) >= 300)
                AND u.user_id IN (SELECT user_id FROM events WHERE event_name = 'purchase'
                                  AND occurred_at >= {ago(365)} AND occurred_at <= {at_now}
                                  AND CAST(properties ->> '$.revenue' AS DOUBLE) > 250
                                  GROUP BY user_id HAVING count(*) >= 2)))
            AND NOT {churn}""",
    }


def compiled_sql(database: Any, workspace_id: str, now: datetime) -> tuple[dict[str, str], float]:
    """The count query Sluice compiles for each demo segment, and the seconds compiling took."""
    from sluice.segments.preview import count_expression
    from sluice.segments.service import StoredSegments, open_compiler
    from sluice.store.tables.models import Model
    from sluice.store.tables.segments import Segment

    started = time.perf_counter()
    result: dict[str, str] = {}
    with database.session() as session:
        users = session.scalar(select(Model).where(Model.workspace_id == workspace_id, Model.name == "users"))
        with open_compiler(session, workspace_id, users, secrets=None, now=now) as compiler:
            resolver = StoredSegments(session, workspace_id)
            for row in session.scalars(select(Segment).where(Segment.workspace_id == workspace_id)):
                expr = count_expression(compiler, resolver.get(row.id))
                result[row.name] = str(getattr(compiler.catalog, "compile")(expr))  # noqa: B009 - stored catalogs only
    return result, time.perf_counter() - started


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        value = action()
        best = min(best, time.perf_counter() - started)
    return best, value


def best_of_pair(
    runs: int, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[float, Any, float, Any]:
    """Best time of each of two actions run alternately, so a busy machine weighs on both alike."""
    timings = [best_of(1, action) for _ in range(runs) for action in (first, second)]
    firsts, seconds = timings[0::2], timings[1::2]
    return min(t for t, _ in firsts), firsts[-1][1], min(t for t, _ in seconds), seconds[-1][1]


def _runner(con: Any, sql: str) -> Callable[[], Any]:
    return lambda: con.execute(sql).fetchall()


def prepare(users: int, work: Path, demo_path: Path | None) -> tuple[Any, str, Path]:
    """Demo warehouse (built unless given), scratch control DB, demo models and segments."""
    from sluice.demo.models import seed_demo_models
    from sluice.demo.warehouse import build_demo_warehouse
    from sluice.store.db import Database
    from sluice.store.migrate import ensure_default_workspace, upgrade

    path = demo_path or work / "demo.duckdb"
    if demo_path is None:
        typer.echo(f"building a demo warehouse of {users:,} users")
        build_demo_warehouse(users=users, seed=42, path=path, as_of=AS_OF)
    database = Database(f"sqlite:///{work / 'control.db'}", "bench-secret-key")
    upgrade(database)
    with database.session() as session:
        workspace_id = ensure_default_workspace(session).id
    seed_demo_models(database, workspace_id, path)
    demo_segments.seed_demo_segments(database, workspace_id)
    return database, workspace_id, path


def register(bench_app: typer.Typer) -> None:
    def bench_segments(
        users: int = typer.Option(1_000_000, min=100, help="Users in the demo warehouse."),
        runs: int = typer.Option(3, min=1, help="Runs of each query (best kept)."),
        demo_path: Path | None = typer.Option(
            None, help="Use this demo warehouse (built with --as-of 2026-01-15)."
        ),
    ) -> None:
        """Compiled segment counts vs hand-written SQL on the demo warehouse (ratio, lower is better)."""
        import duckdb

        now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC)
        with tempfile.TemporaryDirectory(prefix="sluice-bench-") as scratch:
            database, workspace_id, path = prepare(users, Path(scratch), demo_path)
            compiled, compile_s = compiled_sql(database, workspace_id, now)
            hand = hand_written_sql(now)
            con = duckdb.connect(str(path), read_only=True)
            con.execute("SET enable_progress_bar = false")
            worst = 0.0
            typer.echo(f"compiling {len(compiled)} segments took {compile_s:.2f}s")
            typer.echo(f"{'segment':42} {'count':>10} {'compiled':>9} {'hand':>9} {'ratio':>6}")
            for name, sql in compiled.items():
                compiled_s, compiled_rows, hand_s, hand_rows = best_of_pair(
                    runs, _runner(con, sql), _runner(con, hand[name])
                )
                if compiled_rows != hand_rows:
                    typer.echo(f"{name}: compiled {compiled_rows} but hand-written {hand_rows}", err=True)
                    raise typer.Exit(1)
                ratio = compiled_s / hand_s if hand_s else 1.0
                worst = max(worst, ratio)
                typer.echo(
                    f"{name:42} {compiled_rows[0][0]:>10,} {compiled_s:>8.3f}s {hand_s:>8.3f}s {ratio:>6.2f}"
                )
            con.close()
            database.dispose()
        typer.echo(f"RESULT segments ratio={worst:.2f} users={users}")

    bench_app.command("segments")(bench_segments)
    bench_app.command("segment", hidden=True)(bench_segments)
