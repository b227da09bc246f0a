#!/usr/bin/env bash
# The dashboard's browser test drives Debian's chromium through playwright's
# executable_path: this installs that package with apt-get when it is missing.
# It never downloads a browser of its own (no `playwright install`). Idempotent: with
# chromium already there it does nothing. Non-interactive; one clear line when it cannot.
set -euo pipefail

CHROMIUM="${MEMKIT_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

fail() {
    echo "install_browser.sh: $1" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 \
    || fail "$CHROMIUM is missing and apt-get is not available: install Debian's 'chromium' package"

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    fail "$CHROMIUM is missing: run 'sudo apt-get install chromium' (this script needs root to)"
fi

log="$(mktemp -t memkit-install-browser.XXXXXX)"
echo "install_browser.sh: installing Debian's chromium with apt-get (log: $log)"
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -q \
        && "${as_root[@]}" apt-get install -y -q --no-install-recommends chromium; } >"$log" 2>&1; then
    fail "apt-get could not install chromium (see $log)"
fi

[ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM is still missing"
rm -f "$log"
