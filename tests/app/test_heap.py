"""The collector's settings for a long-running process (notifier/app/heap.py)."""

import gc

from notifier.app import heap


def test_settle_freezes_what_is_alive_and_collects_young_objects_less_often():
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= heap.YOUNG
        assert gc.get_threshold()[1:] == before[1:]
    finally:
        gc.set_threshold(*before)
