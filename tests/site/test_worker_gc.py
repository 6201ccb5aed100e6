"""The worker's collector: the start-up heap frozen, the young threshold from settings."""

import gc

from hms_site.celery import freeze_start_up_heap


def _restore(threshold):
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_the_worker_freezes_its_start_up_heap_and_takes_the_young_threshold(settings):
    before = gc.get_threshold()
    settings.HMS_WORKER_GC_THRESHOLD = 12_345
    try:
        freeze_start_up_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (12_345, before[1], before[2])
    finally:
        _restore(before)


def test_the_young_threshold_defaults_above_pythons():
    from django.conf import settings

    assert settings.HMS_WORKER_GC_THRESHOLD > 700
