#!/usr/bin/env bash
# Compatibility suite: drives a cmdb server with the official Python client bkapi-component-open.
#
#   compat/run.sh BINARY [pytest args...]
#
# Creates (or reuses) compat/.venv, installs compat/requirements.txt, starts `BINARY serve` on a free
# loopback port with a fresh data directory and the app compat-app:compat-secret, waits for /healthz,
# runs pytest on compat/tests and exits with pytest's exit code. The server and the temp dir are always
# cleaned up.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BINARY [pytest args...]" >&2
    exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BINARY="$1"
shift
case "$BINARY" in /*) ;; *) BINARY="$PWD/$BINARY" ;; esac
if [ ! -x "$BINARY" ]; then
    echo "compat: server binary not found or not executable: $BINARY" >&2
    exit 2
fi

PYTHON="${PYTHON:-python3}"
VENV="$HERE/.venv"
REQS="$HERE/requirements.txt"
APP_CODE="compat-app"
APP_SECRET="compat-secret"
WAIT_SECONDS="${CMDB_COMPAT_WAIT:-60}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

# ---- virtualenv -------------------------------------------------------------------------------
make_venv() {
    rm -rf "$VENV"
    if "$PYTHON" -m venv "$VENV" >/dev/null 2>&1 && [ -x "$VENV/bin/pip" ]; then
        return 0
    fi
    rm -rf "$VENV"
    # no ensurepip (e.g. Debian without python3-venv): try virtualenv, installing it if pip is there
    if ! "$PYTHON" -m virtualenv --version >/dev/null 2>&1; then
        "$PYTHON" -m pip install -q --user virtualenv >/dev/null 2>&1 \
            || "$PYTHON" -m pip install -q --user --break-system-packages virtualenv >/dev/null 2>&1 || true
    fi
    if "$PYTHON" -m virtualenv -q "$VENV" >/dev/null 2>&1 && [ -x "$VENV/bin/pip" ]; then
        return 0
    fi
    rm -rf "$VENV"
    # last resort on Debian/Ubuntu as root: the distribution's venv package
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        { apt-get update -qq && { apt-get install -y -qq "python${pyver}-venv" || apt-get install -y -qq python3-venv; }; } \
            >/dev/null 2>&1 || true
        if "$PYTHON" -m venv "$VENV" >/dev/null 2>&1 && [ -x "$VENV/bin/pip" ]; then
            return 0
        fi
    fi
    echo "compat: cannot create a virtualenv with $PYTHON (no venv/ensurepip and no virtualenv)" >&2
    return 1
}

STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 \
        || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        make_venv
    fi
    if ! "$VENV/bin/python" -m pip install -q -r "$REQS"; then
        echo "compat: pip install -r $REQS failed" >&2
        exit 1
    fi
    echo "$want" >"$STAMP"
fi
VPY="$VENV/bin/python"

# ---- server -----------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/cmdb-compat.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() {
    echo "---- last lines of the server log ----" >&2
    tail -n 30 "$TMP/server.log" >&2 || true
}

PORT="$("$VPY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"
mkdir -p "$TMP/data"

# the server must use only what is given here, not a database or apps from the caller's environment
env -u CMDB_DATABASE_URL -u CMDB_APPS -u CMDB_LISTEN -u CMDB_DATA \
    "$BINARY" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" --app "$APP_CODE:$APP_SECRET" \
    >"$TMP/server.log" 2>&1 </dev/null &
SERVER_PID=$!

if ! "$VPY" - "$URL/healthz" "$WAIT_SECONDS" "$SERVER_PID" <<'EOF'
import os, sys, time, urllib.request
url, limit, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.stderr.write("compat: server exited before becoming healthy\n")
        sys.exit(1)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.stderr.write("compat: server not healthy at %s after %gs\n" % (url, limit))
sys.exit(1)
EOF
then
    show_log
    exit 1
fi

# ---- tests ------------------------------------------------------------------------------------
set +e
CMDB_COMPAT_URL="$URL" CMDB_COMPAT_APP_CODE="$APP_CODE" CMDB_COMPAT_APP_SECRET="$APP_SECRET" \
    "$VPY" -m pytest -q -c "$HERE/pytest.ini" --rootdir "$HERE" "$HERE/tests" "$@"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    show_log
fi
exit "$rc"
