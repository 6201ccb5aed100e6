"""Demo data for ``manage.py hms_demo``: idempotent, returns what it loaded."""


def load() -> list[str]:
    return []
