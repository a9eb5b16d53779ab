"""Jobs: the queue, workers, scheduler, reconciler, automatic pause/resume and alerts.

How the parts fit (BRIEF §3, §4 rules 8 and 9):

- :mod:`.scheduler` queues due runs in the control DB exactly once (conditional UPDATE of
  ``schedule_states.next_run_at`` plus the one-active-run index on ``runs``);
- :mod:`.dispatch` hands each queued run id to the :mod:`.queue` (Huey on SQLite or Redis) once;
- a worker (:mod:`.runtime`) executes the run with the executor (:mod:`.executor`, by default the
  sync runner), then settles it: :mod:`.health` counts failures, pauses, raises warnings;
  dependants are queued; :mod:`.alerts` go out;
- :mod:`.reconciler` fails runs whose worker died and settles runs finished elsewhere;
- :mod:`.probes` resume automatically paused activations when the cause is gone.
"""
