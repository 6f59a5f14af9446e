#!/usr/bin/env bash
# Give a store its broker credentials: add-store.sh S001 → a random password, added to the password file,
# printed once as the [hq] lines for that store's config. Run on the broker host as root.
set -euo pipefail
store_id=${1:?usage: add-store.sh STORE_ID [PASSWORD_FILE]}
password_file=${2:-/etc/mosquitto/storeedge.passwd}
[[ $store_id =~ ^[A-Za-z0-9_-]{1,32}$ ]] || { echo "store id: letters, digits, _ and - only" >&2; exit 2; }
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
[ -f "$password_file" ] || install -m 600 /dev/null "$password_file"
mosquitto_passwd -b "$password_file" "$store_id" "$password"
echo "reload the broker (systemctl reload mosquitto), then in the store's config:"
printf '[hq]\nbroker = "mqtts://hq.example:8883"\nusername = "%s"\npassword = "%s"\nca_file = "/etc/storeedge/hq-ca.crt"\n' \
  "$store_id" "$password"
