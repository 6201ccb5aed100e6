#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

``python manage.py ...`` works from any Python: when Django is not importable
(a plain shell's system Python) it re-runs itself with the project's
``.venv/bin/python`` (made by ``scripts/setup.sh`` / ``make run``). The settings
then read the same ``var/`` as ``make run`` (e.g. its generated ``secret-key``).
"""

import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms_site.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent:
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - no shell
        sys.exit(
            "Django is not installed for this Python: run scripts/setup.sh (or make run) "
            "first, then .venv/bin/python manage.py ..."
        )
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
