"""Named points of a run where the crash-safety tests kill the worker (BRIEF §4 rule 6).

``SLUICE_CRASH_AT=<point>`` makes the process SIGKILL itself when it reaches ``<point>``
(``<point>:<n>`` at the n-th time), exactly as an external ``kill -9`` at that moment would.
Without the variable, :func:`reached` does nothing. Points are listed in :data:`POINTS`.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

POINTS = (
    "claimed",
    "extracted",
    "validated",
    "diffed",
    "planned",
    "batch_delivered",
    "delivered",
    "snapshot_written",
    "outcomes_written",
    "committed",
)
ENVIRONMENT_VARIABLE = "SLUICE_CRASH_AT"
_seen: Counter[str] = Counter()


def reached(point: str) -> None:
    """Kill this process now if the crash-safety test asked for ``point``."""
    wanted = os.environ.get(ENVIRONMENT_VARIABLE)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _seen[point] += 1
    if _seen[point] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
