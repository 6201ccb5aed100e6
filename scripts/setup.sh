#!/usr/bin/env bash
# Create .venv and install the project into it (with the dev extra when asked).
# The server's install includes the SDK (sdk/, also its own distribution "hms-sdk").
# Re-running is cheap: pip is skipped while pyproject.toml and sdk/pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
python=${PYTHON:-python3}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "HMS Monitor needs Python 3.11 or newer ($python is $("$python" -V 2>&1))" >&2; exit 1; }

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed${extra}"
# A dev install also satisfies a plain one.
stale() { [ ! -f "$1" ] || [ pyproject.toml -nt "$1" ] || [ sdk/pyproject.toml -nt "$1" ]; }
[ -z "$extra" ] && ! stale ".venv/.installed[dev]" && stamp=".venv/.installed[dev]"
if stale "$stamp"; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extra}"
  touch "$stamp"
fi
