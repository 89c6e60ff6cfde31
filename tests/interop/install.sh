#!/usr/bin/env bash
# Installs the Debian packages the interop tests drive (curl, openssl, nginx,
# mosquitto, redis, socat, ab, chromium for the status page) and python3-venv,
# when any is missing.
# The README's test command runs it first; it is quiet and quick when
# everything is there already.  Needs root (or sudo) only to install.
set -euo pipefail

PACKAGES=(curl openssl ca-certificates nginx-light mosquitto mosquitto-clients
          redis-server socat apache2-utils python3-venv chromium)
COMMANDS=(curl openssl nginx mosquitto mosquitto_pub mosquitto_sub redis-server
          redis-cli socat ab python3 chromium)
# Daemons a package may start on install: ours start their own on other ports,
# but a system daemon must not hold ports the tests use.
SERVICES=(nginx mosquitto redis-server)

package_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for name in "${COMMANDS[@]}"; do
    command -v "$name" >/dev/null || missing+=("$name")
done
if command -v dpkg-query >/dev/null; then
    for name in "${PACKAGES[@]}"; do package_installed "$name" || missing+=("$name"); done
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "install.sh: missing ${missing[*]} and this is not a Debian-like system:" \
         "install curl, openssl, nginx, mosquitto, redis, socat, ab (apache2-utils) and chromium yourself" >&2
    exit 1
fi
if [[ $EUID -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "install.sh: missing ${missing[*]}; run as root (or with sudo) to install:" \
         "apt-get install ${PACKAGES[*]}" >&2
    exit 1
fi

echo "install.sh: installing ${PACKAGES[*]}"
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${PACKAGES[@]}"

# Containers often have no init system: try to stop each daemon, never fail on it.
for svc in "${SERVICES[@]}"; do
    if command -v service >/dev/null; then
        "${as_root[@]}" service "$svc" stop >/dev/null 2>&1 || true
    elif [[ -x "/etc/init.d/$svc" ]]; then
        "${as_root[@]}" "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
done
