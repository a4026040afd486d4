# Sourced by scripts/serve and scripts/test (after bootstrap.sh, which sets ROOT): the web app
# in frontend/, built with the system's Node.js 20+ and npm against its lockfile. Every step
# is skipped while frontend/package.json does not exist.
FRONTEND="$ROOT/frontend"
JEEX_NODE_MAJOR=20

jeex_has_frontend() {
    [ -f "$FRONTEND/package.json" ]
}

jeex_check_node() {
    local version major
    if ! version="$(node --version 2>/dev/null)"; then
        echo "error: the web app needs Node.js $JEEX_NODE_MAJOR+ and npm; install them (e.g. the Debian/Ubuntu packages nodejs and npm, or nodejs.org)" >&2
        exit 1
    fi
    major="${version#v}"
    major="${major%%.*}"
    if ! [ "$major" -ge "$JEEX_NODE_MAJOR" ] 2>/dev/null; then
        echo "error: the web app needs Node.js $JEEX_NODE_MAJOR+, found $version" >&2
        exit 1
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "error: the web app needs npm beside Node.js $version" >&2
        exit 1
    fi
}

_jeex_sha256() {
    sha256sum | cut -d' ' -f1
}

# npm ci when package-lock.json changed since the last install (or node_modules is missing).
jeex_frontend_install() {
    local stamp="$FRONTEND/node_modules/.jeex-lock-sha256" wanted
    wanted="$(_jeex_sha256 < "$FRONTEND/package-lock.json")"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
        echo "installing the web app's packages (npm ci)" >&2
        (cd "$FRONTEND" && npm ci --no-audit --no-fund)
        mkdir -p "$FRONTEND/node_modules"
        echo "$wanted" > "$stamp"
    fi
}

# A hash of everything under frontend/ but its installed packages, its build and the reports
# its tools write: names and contents, so a renamed, added or removed file counts too.
_jeex_frontend_sources_hash() {
    (
        cd "$FRONTEND"
        find . \( -path ./node_modules -o -path ./dist -o -path ./coverage \
            -o -path ./test-results -o -path ./playwright-report \) -prune \
            -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | _jeex_sha256
    )
}

_jeex_frontend_stamp() {
    echo "$FRONTEND/dist/.jeex-sources-sha256"
}

jeex_frontend_build() {
    echo "building the web app (~30 s)" >&2
    (cd "$FRONTEND" && npm run build)
    # Hashed after the build: what the build itself leaves beside the sources (a TypeScript
    # build-info file) must not make the next start build again.
    _jeex_frontend_sources_hash > "$(_jeex_frontend_stamp)"
}

# npm run build when anything under frontend/ changed since the last build.
jeex_frontend_build_if_changed() {
    if [ "$(cat "$(_jeex_frontend_stamp)" 2>/dev/null || true)" != "$(_jeex_frontend_sources_hash)" ]; then
        jeex_frontend_build
    fi
}

jeex_frontend_has_script() {
    (cd "$FRONTEND" && node -e 'process.exit(require("./package.json").scripts?.[process.argv[1]] ? 0 : 1)' "$1")
}

# The browser tests drive the Debian package's Chromium (no browser is ever downloaded).
jeex_ensure_chromium() {
    if [ -x /usr/bin/chromium ]; then
        return
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: the browser tests need Chromium at /usr/bin/chromium; install the Debian package: sudo apt-get install chromium" >&2
        exit 1
    fi
    echo "installing chromium (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends chromium >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
}

# The JavaScript a first visit loads before anything else (index.html's module scripts and
# their modulepreloads), gzipped; over the limit the check fails.
JEEX_INITIAL_JS_LIMIT_KB=250
jeex_frontend_report_size() {
    "$VENV/bin/python" - "$FRONTEND/dist" "$JEEX_INITIAL_JS_LIMIT_KB" <<'PY'
import gzip
import re
import sys
from pathlib import Path

dist, limit_kb = Path(sys.argv[1]), int(sys.argv[2])
index = (dist / "index.html").read_text(encoding="utf-8")
scripts = re.findall(r'<script[^>]*\bsrc="/?([^"]+\.js)"', index)
preloads = re.findall(r'<link[^>]*rel="modulepreload"[^>]*href="/?([^"]+\.js)"', index)
preloads += re.findall(r'<link[^>]*href="/?([^"]+\.js)"[^>]*rel="modulepreload"', index)
files = sorted(set(scripts + preloads))
if not files:
    sys.exit("error: frontend/dist/index.html loads no JavaScript file")
size = sum(len(gzip.compress((dist / name).read_bytes(), compresslevel=9)) for name in files)
print(f"initial JavaScript: {size / 1000:.1f} kB gzipped in {len(files)} file(s) "
      f"(limit {limit_kb} kB)")
if size > limit_kb * 1000:
    sys.exit(f"error: the initial JavaScript is over {limit_kb} kB gzipped")
PY
}
