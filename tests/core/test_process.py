"""core/process.py: a ready process's long-lived objects leave the garbage collector's walk."""

from __future__ import annotations

import gc

from core.process import settle_memory


def test_settled_objects_are_no_longer_walked():
    gc.collect()
    try:
        settle_memory()
        assert gc.get_freeze_count() > 0  # what existed is frozen, not collected again
    finally:
        gc.unfreeze()  # other tests in this process expect a normal collector
