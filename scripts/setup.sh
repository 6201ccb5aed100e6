#!/usr/bin/env bash
# Create .venv and install the project into it (with the dev extra when asked).
# Re-running is cheap: pip is skipped while pyproject.toml is unchanged.
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
[ -z "$extra" ] && [ -f ".venv/.installed[dev]" ] && [ ! pyproject.toml -nt ".venv/.installed[dev]" ] \
  && stamp=".venv/.installed[dev]"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extra}"
  touch "$stamp"
fi
