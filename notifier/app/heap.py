"""The garbage collector of a long-running `notifier` process, set once it has started.

Two public knobs of `gc`, measured inside the processes in `bench/README.md` (issue 18, change
17): before them the web spent 7.5 % of its CPU in collections during a referral burst.

- `gc.freeze()`: everything loaded by then (modules, compiled templates, fonts) lives as long as
  the process, so the collector stops walking it; a full collection of the web took 60–80 ms.
- A larger first-generation threshold (`YOUNG`). The default, 700 container objects allocated
  and not yet freed, is crossed every few requests by 64 requests in flight that each hold a few
  hundred objects for a moment, most of which reference counting frees anyway. At `YOUNG` the
  collector still runs (reference cycles are still freed), just not every few requests.
"""

from __future__ import annotations

import gc

#: Container objects allocated and not freed before a first-generation collection.
YOUNG = 10_000


def settle() -> None:
    """Freeze what is alive now, and raise the first-generation threshold. (No collection first:
    what little garbage start-up leaves is not worth a full collection of the process.)"""
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG), middle, old)
