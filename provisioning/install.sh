#!/usr/bin/env bash
# Install StoreEdge on a Raspberry Pi OS / Debian 12 box:
#   a system user "storeedge" in the device groups, a venv in /opt/storeedge/venv, the config in
#   /etc/storeedge, the data in /var/lib/storeedge, udev rules, and the systemd units installed and enabled.
# Idempotent: a second run changes nothing (and says so). An existing config is never overwritten.
#
#   sudo provisioning/install.sh                 # onto this machine
#   provisioning/install.sh --root /tmp/image    # into a folder (an image being built, or a test)
#   sudo provisioning/install.sh --kiosk display # and Chromium full screen at the box, in every desktop session
#
# The kiosk launcher's user unit is always installed in /etc/systemd/user; --kiosk SCREEN (pos, display or
# kiosk) also installs Chromium, enables the unit for every user's graphical session and sets its screen.
#
# Under --root, what needs the running system is skipped: apt, useradd, chown, the venv's pip install,
# udevadm and starting the units; the files, folders and the units' enable links are written.
set -euo pipefail

usage() { echo "usage: install.sh [--root DIR] [--source DIR] [--kiosk pos|display|kiosk]" >&2; exit 2; }

root=""
kiosk_screen=""
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
    --source) [ $# -ge 2 ] || usage; source_dir=$(cd "$2" && pwd); shift 2 ;;
    --kiosk) [ $# -ge 2 ] || usage; case "$2" in pos|display|kiosk) kiosk_screen=$2 ;; *) usage ;; esac; shift 2 ;;
    *) usage ;;
  esac
done
# made only once every option is known good: a refused command line writes nothing
if [ -n "$root" ]; then root=$(mkdir -p "$root" && cd "$root" && pwd); fi

user=storeedge
device_groups=(input dialout lp)
packages=(python3 python3-venv python3-dev gcc sqlite3 chrony)
if [ -n "$kiosk_screen" ]; then packages+=(chromium); fi  # the launcher's browser, /usr/bin/chromium
changes=0

note() { echo "install: $*"; }
changed() { changes=$((changes + 1)); note "$*"; }
on_system() { [ -z "$root" ]; }

# A folder with its mode (and owner, on the system); reported only when something changed.
folder() {
  local mode=$1 owner=$2 path=$3
  if [ ! -d "$root$path" ]; then
    install -d -m "$mode" "$root$path"
    changed "created $path"
  elif [ "$(stat -c %a "$root$path")" != "${mode#0}" ]; then
    chmod "$mode" "$root$path"
    changed "mode $mode on $path"
  fi
  if on_system && [ "$(stat -c %U:%G "$path")" != "$owner" ]; then
    chown "$owner" "$path"
    changed "owner $owner on $path"
  fi
}

# A file from the source tree, replaced only when its content or mode differs.
put() {
  local mode=$1 from=$2 path=$3
  if [ -f "$root$path" ] && cmp -s "$from" "$root$path" && [ "$(stat -c %a "$root$path")" = "${mode#0}" ]; then
    return
  fi
  install -D -m "$mode" "$from" "$root$path"
  changed "installed $path"
}

# A file with exactly this text: written when missing or different.
put_text() {
  local mode=$1 path=$2 text=$3
  if [ -f "$root$path" ] && [ "$(cat "$root$path")" = "$text" ] && [ "$(stat -c %a "$root$path")" = "${mode#0}" ]
  then
    return
  fi
  install -D -m "$mode" /dev/null "$root$path"
  printf '%s\n' "$text" > "$root$path"
  changed "wrote $path"
}

# A file written once: the technician's own edits (the config) are never overwritten.
put_once() {
  local mode=$1 path=$2 text=$3
  [ -e "$root$path" ] && return
  install -D -m "$mode" /dev/null "$root$path"
  printf '%s\n' "$text" > "$root$path"
  changed "wrote $path"
}

# -- packages and the system user ------------------------------------------------------------------------

if on_system; then
  missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    changed "installed packages ${missing[*]}"
  fi
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/storeedge --no-create-home --shell /usr/sbin/nologin "$user"
    changed "created system user $user"
  fi
  # The user is in the device groups (so `sudo -u storeedge storeedge devices test` works); of the services
  # only the gateway sees device nodes: web and sync run with PrivateDevices=yes.
  for group in "${device_groups[@]}"; do
    getent group "$group" >/dev/null || groupadd --system "$group"
    if ! id -nG "$user" | tr ' ' '\n' | grep -qx "$group"; then
      usermod -aG "$group" "$user"
      changed "added $user to group $group"
    fi
  done
else
  note "under --root: packages and the user $user (groups ${device_groups[*]}) are left to the system"
fi

# -- folders, config, venv ---------------------------------------------------------------------------------

folder 0755 root:root /opt/storeedge
folder 0750 "root:$user" /etc/storeedge
new_config=""
[ -e "$root/etc/storeedge/storeedge.toml" ] || new_config=yes
folder 0750 "$user:$user" /var/lib/storeedge
folder 0750 "$user:$user" /var/lib/storeedge/backups

# The config holds HQ credentials: 0600, the service user's (as `storeedge provision` writes it).
put_once 0600 /etc/storeedge/storeedge.toml "# StoreEdge's config: \`storeedge provision\` fills it in (see README, Field service).
# Until then the store runs with the built-in defaults and no devices."
put_once 0644 /etc/default/storeedge "# Environment for the StoreEdge units.
# Backups to a USB stick mounted there (the backup unit may write only there and in /var/lib/storeedge):
# STOREEDGE_BACKUP_DIR=/media/storeedge-backup"
if on_system && [ -n "$new_config" ]; then
  chown "$user:$user" /etc/storeedge/storeedge.toml
fi

venv=/opt/storeedge/venv
if on_system; then
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    changed "created $venv"
  fi
  installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("storeedge"))' 2>/dev/null || true)
  wanted=$(sed -n 's/^version = "\(.*\)"/\1/p' "$source_dir/pyproject.toml" | head -n 1)
  if [ "$installed" != "$wanted" ]; then
    # the screens' Chart.js, checked against kiosk_ui/vendor.lock.json, goes into the package with the screens
    python3 "$source_dir/kiosk_ui/vendor.py"
    "$venv/bin/pip" install -q "$source_dir"
    changed "installed storeedge $wanted into $venv"
    if [ -n "$installed" ]; then upgraded_from=$installed; fi
  fi
else
  note "under --root: no venv in $venv (pip installs on the box itself)"
fi

# -- udev rules and systemd units ----------------------------------------------------------------------------

before_rules=$changes
for rules in "$source_dir"/provisioning/udev/*.rules; do
  put 0644 "$rules" "/etc/udev/rules.d/$(basename "$rules")"
done
if on_system && [ "$changes" -gt "$before_rules" ] && command -v udevadm >/dev/null; then
  udevadm control --reload && udevadm trigger --subsystem-match=input --subsystem-match=tty \
    --subsystem-match=usb --subsystem-match=usbmisc
fi

units=()
for unit in "$source_dir"/systemd/storeedge-*.service "$source_dir"/systemd/storeedge-*.timer; do
  put 0644 "$unit" "/etc/systemd/system/$(basename "$unit")"
  units+=("$(basename "$unit")")
done

# Enabled: web, gateway, the timers, and sync when the config has an [hq] section. The HQ unit stays
# installed but off (a chain's head office runs it on its own machine).
enable=(storeedge-web.service storeedge-gateway.service storeedge-backup.timer storeedge-daily.timer
        storeedge-insight.timer)
if grep -q '^\[hq\]' "$root/etc/storeedge/storeedge.toml"; then
  enable+=(storeedge-sync.service)
fi
for unit in "${enable[@]}"; do
  wants=multi-user.target.wants
  [[ $unit == *.timer ]] && wants=timers.target.wants
  if [ ! -L "$root/etc/systemd/system/$wants/$unit" ]; then
    if on_system; then
      systemctl --quiet enable "$unit"
    else
      systemctl --quiet --root="$root" enable "$unit"
    fi
    changed "enabled $unit"
  fi
done
# The kiosk launcher runs in a desktop session, as that session's user: a user unit, installed for all users.
for unit in "$source_dir"/systemd/user/storeedge-*.service; do
  put 0644 "$unit" "/etc/systemd/user/$(basename "$unit")"
  units+=("$(basename "$unit")")
done
if [ -n "$kiosk_screen" ]; then
  put_text 0644 /etc/default/storeedge-kiosk "# The screen the kiosk launcher opens (install.sh --kiosk SCREEN).
STOREEDGE_KIOSK_SCREEN=$kiosk_screen"
  kiosk_link=/etc/systemd/user/graphical-session.target.wants/storeedge-kiosk.service
  if [ ! -L "$root$kiosk_link" ]; then
    # --global: for every user's session (a user can still turn it off with systemctl --user disable)
    if on_system; then
      systemctl --quiet --global enable storeedge-kiosk.service
    else
      systemctl --quiet --root="$root" --global enable storeedge-kiosk.service
    fi
    changed "enabled storeedge-kiosk.service for every desktop session (screen $kiosk_screen)"
  fi
fi

# A new release over a store: its migrations run with the services stopped, after a backup, checked, and
# rolled back if anything fails (storeedge upgrade); the services are not started on a failed upgrade.
if on_system && [ -n "${upgraded_from:-}" ] && [ -e /var/lib/storeedge/storeedge.db ]; then
  systemctl stop storeedge-web.service storeedge-gateway.service storeedge-sync.service
  if ! runuser -u "$user" -- env STOREEDGE_CONFIG=/etc/storeedge/storeedge.toml \
      "$venv/bin/storeedge" --data-dir /var/lib/storeedge upgrade; then
    echo "install.sh: the store's upgrade from $upgraded_from failed and was rolled back (the data is as" \
      "before); the services stay stopped: install the previous release again, or see README, Upgrades" >&2
    exit 1
  fi
  changed "upgraded the store from $upgraded_from"
fi
if on_system; then
  systemctl daemon-reload
  systemctl start "${enable[@]}"
fi

if [ "$changes" -eq 0 ]; then
  note "nothing to change: StoreEdge is installed (${#units[@]} units)"
else
  note "$changes change(s); check the box with: sudo -u $user $venv/bin/storeedge doctor"
fi
