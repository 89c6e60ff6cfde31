#!/usr/bin/env bash
# Installs what the interop tests drive (curl, openssl, nginx, mosquitto, redis,
# socat, ab, chromium for the status page) and python3-venv, when missing.  It installs only what is missing
# and upgrades nothing: a program already on the PATH is used as it is,
# whichever package (or build) it came from, and apt-get is told
# --no-upgrade.  (apt-get still upgrades an installed library when a package
# being installed needs a newer one; the script lists any such upgrade first.)
# The README's test command runs it first; it is quiet and quick when
# everything is there already.  Needs root (or sudo) only to install.
set -euo pipefail

# What to check, and the Debian package that provides it.
#   a command name: present when on the PATH;
#   pkg:NAME: present when dpkg says the package is installed (or there is no dpkg);
#   venv: present when python3 can make a virtual environment with pip.
CHECKS=(curl:curl openssl:openssl nginx:nginx-light mosquitto:mosquitto
        mosquitto_pub:mosquitto-clients mosquitto_sub:mosquitto-clients
        redis-server:redis-server redis-cli:redis-tools socat:socat ab:apache2-utils
        python3:python3 pkg:ca-certificates:ca-certificates venv:python3-venv
        chromium:chromium)
# The daemon each package starts on install (package:service): the tests start
# their own on other ports, and one just installed must not hold ports they use.
SERVICES=(nginx-light:nginx mosquitto:mosquitto redis-server:redis-server)

present() {
    case "$1" in
        pkg:*) ! command -v dpkg-query >/dev/null ||  # not Debian: nothing to ask
               [[ "$(dpkg-query -W -f='${db:Status-Status}' "${1#pkg:}" 2>/dev/null)" == installed ]] ;;
        venv) python3 -c 'import ensurepip, venv' >/dev/null 2>&1 ;;
        *) command -v "$1" >/dev/null ;;
    esac
}

missing=()
for check in "${CHECKS[@]}"; do
    what=${check%:*}
    package=${check##*:}
    if ! present "$what" && [[ " ${missing[*]} " != *" $package "* ]]; then
        missing+=("$package")
    fi
done
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
         "apt-get install --no-upgrade ${missing[*]}" >&2
    exit 1
fi

echo "install.sh: installing ${missing[*]}"
"${as_root[@]}" apt-get update -q
options=(-y -q --no-upgrade --no-install-recommends)
# "Inst NAME [OLD VERSION] (NEW ...)": an installed package apt-get would upgrade.
upgrades=$("${as_root[@]}" apt-get --simulate install "${options[@]}" "${missing[@]}" \
           2>/dev/null | sed -n 's/^Inst \([^ ]*\) \[\([^]]*\)\].*/\1 (\2)/p' || true)
if [[ -n "$upgrades" ]]; then
    echo "install.sh: the new packages need newer versions of installed ones:" $upgrades
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${options[@]}" "${missing[@]}"

# Stop the daemons just installed (never one that was there before); containers
# often have no init system: try, never fail on it.
for pair in "${SERVICES[@]}"; do
    [[ " ${missing[*]} " == *" ${pair%%:*} "* ]] || continue
    svc=${pair#*:}
    if command -v service >/dev/null; then
        "${as_root[@]}" service "$svc" stop >/dev/null 2>&1 || true
    elif [[ -x "/etc/init.d/$svc" ]]; then
        "${as_root[@]}" "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
done
