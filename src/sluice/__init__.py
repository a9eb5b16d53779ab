"""Sluice: an open-source, self-hostable composable CDP."""

import os
from importlib.metadata import PackageNotFoundError, version

# Arrow's default allocator keeps freed memory, so RSS would stay at a worker's largest run; the
# system allocator returns it (see sluice.core.memory). Read by pyarrow when it is first imported.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

try:
    __version__ = version("sluice")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
