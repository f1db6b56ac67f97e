#!/bin/sh
# Installs the Debian packages named as arguments that are not installed yet.
# As root: apt-get install (after apt-get update when a package is unknown),
# once no other package manager (apt, unattended-upgrades) holds dpkg's
# locks: it waits for them, up to VIGIL_LOCK_TIMEOUT seconds (600).
# Otherwise: prints the exact command and fails.
#
#   install-deps.sh [--no-start] PACKAGE...
#
# --no-start: services that the packages bring (prometheus, node exporter:
# test peers) are neither started by their install nor left enabled at boot.
#
# For tests: VIGIL_DPKG_LOCKS (the lock files), VIGIL_APT_GET (apt-get) and
# VIGIL_POLICY_RC_D (/usr/sbin/policy-rc.d) replace what they name.
set -eu
no_start=0
if [ "${1:-}" = --no-start ]; then
    no_start=1
    shift
fi
missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
apt_get=${VIGIL_APT_GET:-apt-get}
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
    echo "vigil: missing Debian packages:$missing" >&2
    echo "run as root:  apt-get update && $cmd" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
locks=${VIGIL_DPKG_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock}
timeout=${VIGIL_LOCK_TIMEOUT:-600}
policy=${VIGIL_POLICY_RC_D:-/usr/sbin/policy-rc.d}

# The process that holds a lock on one of $locks (pid and name), or
# nothing. apt and dpkg take fcntl locks, which /proc/locks lists by
# inode; the inode alone is compared, since on overlayfs (containers) the
# device there is the upper layer's, not the one stat reports.
lock_holder() {
    for f in $locks; do
        [ -e "$f" ] || continue
        ino=$(stat -L -c %i "$f" 2>/dev/null) || continue
        pid=$(awk -v ino="$ino" '$2 != "->" { n = split($6, k, ":"); if (k[n] == ino) { print $5; exit } }' \
            /proc/locks 2>/dev/null) || pid=""
        if [ -n "$pid" ]; then
            echo "$pid ($(cat /proc/"$pid"/comm 2>/dev/null || echo '?'), holding $f)"
            return
        fi
    done
}

# Waits until no process holds the package manager's locks; fails once
# all the waits together took $timeout seconds. Says once that it waits,
# then every minute.
waited=0
said=0
wait_for_locks() {
    holder=$(lock_holder)
    while [ -n "$holder" ]; do
        if [ "$waited" -ge "$timeout" ]; then
            echo "vigil: gave up after ${timeout}s: another package manager still runs: process $holder; run this again once it is done" >&2
            exit 1
        fi
        if [ "$said" = 0 ]; then
            echo "vigil: waiting for another package manager to finish (at most ${timeout}s): process $holder" >&2
            said=1
        elif [ $((waited % 60)) = 0 ]; then
            echo "vigil: still waiting (${waited}s of at most ${timeout}s): process $holder" >&2
        fi
        sleep 1
        waited=$((waited + 1))
        holder=$(lock_holder)
    done
}

# --no-start: a policy-rc.d that denies every start, for the install's
# length, unless the machine has one of its own (then that one decides).
if [ "$no_start" = 1 ] && [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    trap 'exit 1' INT TERM HUP
    printf '#!/bin/sh\n# vigil install-deps.sh --no-start: no service starts during the install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi

wait_for_locks
# A package apt does not know yet means the package lists are missing or old.
need_update=0
for p in $missing; do
    apt-cache show "$p" >/dev/null 2>&1 || need_update=1
done
[ "$need_update" = 1 ] && $apt_get update -q -o DPkg::Lock::Timeout=60
wait_for_locks
echo "vigil: installing$missing" >&2
# the lock timeout covers another apt that starts between the wait and here
# shellcheck disable=SC2086
$apt_get install -y --no-install-recommends -o DPkg::Lock::Timeout=60 $missing </dev/null

# --no-start on a machine booted with systemd: the services the packages
# enabled are disabled again (systemctl enable brings them back).
if [ "$no_start" = 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    units=""
    for p in $missing; do
        units="$units $(dpkg-query -L "$p" 2>/dev/null | sed -n 's#^\(/usr\)\{0,1\}/lib/systemd/system/\([^/@]*\.\(service\|socket\|timer\)\)$#\2#p' | tr '\n' ' ')"
    done
    if [ -n "$(echo "$units" | tr -d ' ')" ]; then
        # shellcheck disable=SC2086
        systemctl disable --quiet $units || true
        echo "vigil: installed for tests only, not started and not enabled:$units" >&2
    fi
fi
exit 0
