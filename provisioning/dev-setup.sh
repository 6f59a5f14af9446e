#!/usr/bin/env bash
# Prepare a development or CI machine (Debian 12): system packages, then a venv
# with StoreEdge and its test tools. Safe to run again: it installs only what is missing.
set -euo pipefail

venv=${1:-.venv}
python=${PYTHON:-python3}

# mosquitto: the tests' MQTT broker (and mosquitto_passwd); openssl: the sync tests' TLS certificates;
# chromium: the screens' browser tests; gcc and headers: evdev builds a C extension; sqlite3: the technician's shell;
# fonts-wqy-microhei: Chinese glyphs for receipts printed as images and the virtual printer's previews;
# systemd: systemd-analyze, which verifies our units; shellcheck: the scripts' lint;
# postgresql: the reference HQ's tests run it on a real PostgreSQL too (started by the tests, not the system's).
packages=(python3-venv python3-dev gcc linux-libc-dev mosquitto openssl chromium sqlite3 iproute2 fonts-wqy-microhei
          systemd shellcheck postgresql)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e ".[test]"
# The screens' third-party files (Chart.js), pinned with their integrity in kiosk_ui/vendor.lock.json.
"$venv/bin/python" -m kiosk_ui.vendor
