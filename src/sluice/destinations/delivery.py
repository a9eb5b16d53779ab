"""Delivery: ops in, one outcome per op out (BRIEF §4 rule 5).

:func:`deliver` drops ops whose identifier the connector refuses (they are *rejected* without a
request), groups the rest by kind into vendor-sized batches, runs batches concurrently up to the
connector's cap, and turns every batch result into per-op outcomes:

- the connector's own outcomes (delivered / rejected with the vendor's message);
- ``RowRejected`` for a whole batch → the batch is split in halves until the rows at fault are
  found (a single row's rejection keeps the vendor's message);
- ``RateLimited`` / ``Transient`` after the HTTP layer's retries → ``failed`` (never rejected),
  so the next run retries them;
- ``ConfigError`` propagates: the run fails and the activation pauses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from itertools import groupby

from sluice.destinations.errors import ConfigError, RateLimited, RowRejected, Transient
from sluice.destinations.sdk import Connector, Op, Outcome, OutcomeStatus, Target

ProgressCallback = Callable[[int], None]


def plan_batches(ops: Iterable[Op], batch_size: int) -> list[list[Op]]:
    """Consecutive ops of one kind, at most ``batch_size`` per batch, order kept."""
    batches: list[list[Op]] = []
    for _, group in groupby(ops, key=lambda op: op.kind):
        run = list(group)
        batches.extend(run[i : i + batch_size] for i in range(0, len(run), batch_size))
    return batches


async def deliver(
    connector: Connector,
    target: Target,
    ops: Iterable[Op],
    *,
    on_progress: ProgressCallback | None = None,
) -> AsyncIterator[Outcome]:
    """Send ``ops`` to ``target``; yield one :class:`Outcome` per op as batches finish.

    Ops are read lazily, so requests start while later ops are still being read. A key with
    several ops (remove of an old identifier, then add of the new one) keeps its order: every
    batch of one kind finishes before a batch of the next kind starts.
    """
    results: asyncio.Queue[list[Outcome] | BaseException | None] = asyncio.Queue()
    producer = asyncio.create_task(_produce(connector, target, ops, results))
    try:
        while True:
            item = await results.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            for outcome in item:
                if on_progress:
                    on_progress(1)
                yield outcome
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)


async def _produce(
    connector: Connector,
    target: Target,
    ops: Iterable[Op],
    results: asyncio.Queue[list[Outcome] | BaseException | None],
) -> None:
    """Validate ops, cut batches and run them (at most ``concurrency`` at once); put each
    batch's outcomes on ``results``, then None (or the fatal error)."""
    batch_size = connector.capabilities.batch_size
    slots = asyncio.Semaphore(max(1, connector.capabilities.concurrency))
    running: set[asyncio.Task[None]] = set()

    async def run(batch: list[Op]) -> None:
        try:
            await results.put(await _deliver_batch(connector, target, batch))
        except BaseException as exc:  # handed to the consumer, which re-raises
            await results.put(exc)
        finally:
            slots.release()

    async def start(batch: list[Op]) -> None:
        await slots.acquire()
        task = asyncio.create_task(run(batch))
        running.add(task)
        task.add_done_callback(running.discard)
        await asyncio.sleep(0)  # let the request leave before reading more ops

    try:
        batch: list[Op] = []
        for op in ops:
            reason = connector.invalid_reason(op, target.identifier_kind)
            if reason is not None:
                await results.put([Outcome.of(op, OutcomeStatus.REJECTED, f"not sent: {reason}")])
                continue
            if batch and (op.kind != batch[0].kind or len(batch) >= batch_size):
                changes_kind = op.kind != batch[0].kind
                await start(batch)
                batch = []
                if changes_kind and running:
                    await asyncio.gather(*running)
            batch.append(op)
        if batch:
            await start(batch)
        if running:
            await asyncio.gather(*running)
        await results.put(None)
    finally:
        for task in running:
            task.cancel()


async def _deliver_batch(connector: Connector, target: Target, batch: Sequence[Op]) -> list[Outcome]:
    try:
        outcomes = await connector.apply(target, batch)
    except ConfigError:
        raise
    except RowRejected as exc:
        if len(batch) == 1:
            return [Outcome.of(batch[0], OutcomeStatus.REJECTED, exc.reason)]
        middle = len(batch) // 2
        first = await _deliver_batch(connector, target, batch[:middle])
        return first + await _deliver_batch(connector, target, batch[middle:])
    except (RateLimited, Transient) as exc:
        return [Outcome.of(op, OutcomeStatus.FAILED, exc.message) for op in batch]
    return _complete(batch, outcomes)


def _complete(batch: Sequence[Op], outcomes: list[Outcome]) -> list[Outcome]:
    """Guard against a connector that forgot a row: a missing outcome is a failure, not a success."""
    seen = {(o.key, o.kind, o.identifier) for o in outcomes}
    missing = [
        Outcome.of(op, OutcomeStatus.FAILED, "the destination reported nothing for this row")
        for op in batch
        if (op.key, op.kind, op.identifier) not in seen
    ]
    return outcomes + missing
