"""Process-wide memory behaviour for long-running work (sync runs in workers and the CLI).

Arrow's default allocator (jemalloc or mimalloc) keeps freed memory for reuse, so a worker's RSS
stays at the high-water mark of its largest run. Sync runs stream Arrow batches through bounded
buffers; with the system allocator freed batches go back to the OS and a run's peak memory stays
flat as audiences grow (checked by ``sluice bench sync``).
"""

from __future__ import annotations

import pyarrow as pa


def use_system_allocator() -> None:
    """Make the system allocator Arrow's default pool (idempotent)."""
    system = pa.system_memory_pool()
    if pa.default_memory_pool().backend_name != system.backend_name:
        pa.set_memory_pool(system)
