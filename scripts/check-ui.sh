#!/usr/bin/env bash
# Tests the dashboard in a real browser (Tests/ui/test_dashboard.py): Debian's chromium and chromium-driver, headless,
# with Selenium from PyPI in .build/ui-venv. Keeps the screenshot as .build/artifacts/dashboard.png.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || { echo "check-ui: $tool is missing: apt-get install -y chromium chromium-driver (make test does)"; exit 1; }
done
venv=.build/ui-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q selenium 2>&1 | grep -v "new release of pip" || true
fi
swift build --product taskgate >/dev/null
# Selenium must not look for drivers or browsers on the internet.
export SE_OFFLINE=true
"$venv/bin/python" Tests/ui/test_dashboard.py .build/debug/taskgate .build/artifacts/dashboard.png
