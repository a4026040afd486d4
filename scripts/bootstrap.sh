# Sourced by the other scripts: a virtual environment at .venv with the backend installed
# (editable), reinstalled only when backend/pyproject.toml or the wanted extras change.
# Needs nothing but Python 3.11+; every package comes from PyPI (PyTorch's CPU-only build from
# PyTorch's own index on a machine without an NVIDIA GPU, see jeex_torch_index).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JEEX_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
JEEX_TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"

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
        local started=$SECONDS
        echo "installing the backend ($extras) into $VENV: about 120 packages and 2 GB with" \
            "PyTorch, 2-10 minutes on a first run depending on the connection; later runs" \
            "skip this" >&2
        jeex_pip install --upgrade pip
        jeex_install_torch
        jeex_pip install -e "$ROOT/backend[$extras]"
        echo "$wanted" > "$stamp"
        echo "installed in $((SECONDS - started)) s" >&2
    fi
}

# pip, showing one short line per package it collects (with the seconds so far) instead of
# either nothing for minutes or a screenful per package; the whole output goes to a log that
# is kept, and its end shown, when pip fails.
jeex_pip() {
    local log started=$SECONDS status=0
    log="$(mktemp "${TMPDIR:-/tmp}/jeex-pip.XXXXXX")"
    "$VENV/bin/python" -m pip "$@" > "$log" 2>&1 &
    local pip_pid=$!
    local shown=0
    while kill -0 "$pip_pid" 2>/dev/null; do
        sleep 1
        shown="$(_jeex_pip_progress "$log" "$shown" "$started")"
    done
    wait "$pip_pid" || status=$?
    _jeex_pip_progress "$log" "$shown" "$started" > /dev/null
    if [ "$status" -ne 0 ]; then
        echo "error: pip $1 failed (exit $status); the end of $log:" >&2
        grep -v '^WARNING: Location' "$log" | tail -n 25 >&2
        exit "$status"
    fi
    rm -f "$log"
}

# Prints the lines of interest after line $2 of the log to stderr; echoes how many lines are read.
_jeex_pip_progress() {
    local log="$1" shown="$2" started="$3" total
    total="$(wc -l < "$log")"
    if [ "$total" -gt "$shown" ]; then
        sed -n "$((shown + 1)),${total}p" "$log" | while IFS= read -r line; do
            case "$line" in
                Collecting*|Processing*|"Installing collected packages"*|"Successfully installed"*)
                    line="${line%% (from*}"
                    printf '  %4ss  %.90s\n' "$((SECONDS - started))" "$line" >&2
                    ;;
            esac
        done
    fi
    echo "$total"
}

# Where PyTorch comes from: nothing (PyPI, with the rest) or PyTorch's CPU-only index.
# On Linux x86-64, PyPI's torch is a CUDA build that brings several GB of nvidia-* wheels.
# JEEX_TORCH=auto (default) takes it only where nvidia-smi finds a GPU; cpu never takes it;
# cuda always does. A CPU build the machine already offers (pip's find-links, a mirror) is
# kept: the CPU index is used only when the ordinary resolution would pull CUDA.
jeex_torch_index() {
    local choice="${JEEX_TORCH:-auto}" pin
    case "$choice" in
        auto|cpu|cuda) ;;
        *)
            echo "error: JEEX_TORCH must be auto, cpu or cuda, not '$choice'" >&2
            exit 1
            ;;
    esac
    if [ "$choice" = cuda ] || { [ "$choice" = auto ] && _jeex_has_nvidia_gpu; }; then
        return 0
    fi
    pin="$(_jeex_torch_pin)"
    if _jeex_resolution_pulls_cuda "$pin"; then
        echo "$JEEX_TORCH_CPU_INDEX"
    fi
}

jeex_install_torch() {
    local index pin
    index="$(jeex_torch_index)"
    if [ -n "$index" ]; then
        pin="$(_jeex_torch_pin)"
        echo "no NVIDIA GPU here: PyTorch's CPU-only build ($pin, about 200 MB) from $index" \
            "(JEEX_TORCH=cuda takes the CUDA build)" >&2
        jeex_pip install --index-url "$index" "$pin"
    fi
}

_jeex_torch_pin() {
    grep -oE '"torch==[^"]+"' "$ROOT/backend/pyproject.toml" | tr -d '"'
}

_jeex_has_nvidia_gpu() {
    command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L > /dev/null 2>&1
}

# Asks pip what installing the pin would bring (metadata only, nothing is installed).
_jeex_resolution_pulls_cuda() {
    "$VENV/bin/python" -m pip install --dry-run --quiet --ignore-installed --report - "$1" \
        2> /dev/null | "$VENV/bin/python" -c '
import json, sys
answer = sys.stdin.read()
if not answer:
    sys.exit(1)  # pip could not resolve it: the install that follows says why
report = json.loads(answer)
names = [item["metadata"]["name"].lower() for item in report["install"]]
sys.exit(0 if any(name.startswith("nvidia-") for name in names) else 1)
'
}
