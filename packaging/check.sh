#!/usr/bin/env bash
# CI's packaging check (run by .ci/run after the tests; runnable by hand from anywhere):
# validate the desktop file and the AppStream metainfo, build the one-folder bundle, check that
# every bundled library resolves, run `sre-console --self-test` from the bundle under Xvfb (xcb),
# offscreen and with a real Secret Service, then start the bundled GUI on the DEMO and save a
# screenshot of its first painted fleet. Any failure exits non-zero; a failed build prints the
# tail of its log.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${SRE_PACKAGING_OUT:-build/packaging}
BUNDLE=$OUT/dist/sre-console
APP=$BUNDLE/sre-console
LOG=$OUT/pyinstaller.log
APP_ID=io.github.sre_console.SreConsole

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "packaging check FAILED: $*" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
# The bundle's config and data go to a scratch dir, never to the user's own.
export SRE_CONSOLE_CONFIG_DIR=$SCRATCH/config SRE_CONSOLE_DATA_DIR=$SCRATCH/data

step "desktop-file-validate resources/linux/$APP_ID.desktop"
desktop-file-validate "resources/linux/$APP_ID.desktop"
step "appstreamcli validate resources/linux/$APP_ID.metainfo.xml"
appstreamcli validate --no-net "resources/linux/$APP_ID.metainfo.xml"

step "pyinstaller packaging/sre-console.spec (log: $LOG)"
started=$SECONDS
if ! python -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT/dist" --workpath "$OUT/work" \
  packaging/sre-console.spec >"$LOG" 2>&1; then
  echo "--- last 60 lines of $LOG ---" >&2
  tail -n 60 "$LOG" >&2
  fail "the bundle did not build"
fi
echo "built in $((SECONDS - started)) s: $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"

step "every bundled library and Qt plugin resolves its dependencies"
missing=$(
  find "$BUNDLE" -name '*.so*' -type f -print0 |
    LD_LIBRARY_PATH="$BUNDLE/_internal:$BUNDLE/_internal/PySide6/Qt/lib" xargs -0 -n 1 ldd 2>&1 |
    grep 'not found' | sort -u || true
)
[[ -z $missing ]] || fail "libraries missing from the bundle and the system:"$'\n'"$missing"
find "$BUNDLE/_internal/PySide6/Qt/plugins" -name '*.so' | sed "s|$BUNDLE/_internal/||" | sort

self_test() {
  local label=$1
  shift
  step "sre-console --self-test ($label)"
  if ! "$@" "$APP" --self-test | tee "$OUT/self-test-$label.txt"; then
    fail "the self-test failed ($label)"
  fi
}
self_test xcb xvfb-run -a
self_test offscreen env QT_QPA_PLATFORM=offscreen
# With a real Secret Service the keyring line must name it: the bundle holds its backend.
KEYRING_HOME=$SCRATCH/home
mkdir -p "$KEYRING_HOME/run" && chmod 700 "$KEYRING_HOME/run"
self_test secret-service env -u DBUS_SESSION_BUS_ADDRESS -u PYTHON_KEYRING_BACKEND \
  HOME="$KEYRING_HOME" XDG_RUNTIME_DIR="$KEYRING_HOME/run" \
  QT_QPA_PLATFORM=offscreen dbus-run-session -- sh -c \
  'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$@"'
grep -q '^ok    keyring: backend SecretService' "$OUT/self-test-secret-service.txt" ||
  fail "the bundled keyring did not find the Secret Service"

step "the bundled GUI on the DEMO, screenshot of its first painted fleet"
SHOT=$OUT/bundle-demo.png
SRE_CONSOLE_SCREENSHOT=$SHOT timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" \
  "$APP" --profile demo --measure-startup || fail "the bundled GUI did not paint the DEMO fleet"
[[ $(stat -c %s "$SHOT" 2>/dev/null || echo 0) -gt 10000 ]] || fail "no screenshot at $SHOT"
echo "screenshot: $SHOT"
echo "packaging check passed"
