# Sourced by the other scripts: a virtual environment at .venv with the backend installed
# (editable), reinstalled only when backend/pyproject.toml or the wanted extras change.
# Needs nothing but Python 3.11+; every package comes from PyPI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JEEX_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

jeex_bootstrap() {
    local extras="$1"
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "error: Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=...)" >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating virtual environment in $VENV" >&2
        "$PYTHON" -m venv "$VENV"
    fi
    local stamp="$VENV/.jeex-installed"
    local wanted
    wanted="$(cat "$ROOT/backend/pyproject.toml" | "$VENV/bin/python" -c \
        'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')-$extras"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
        echo "installing the backend ($extras) into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT/backend[$extras]"
        echo "$wanted" > "$stamp"
    fi
}
