#!/bin/sh
# Installs the Debian packages named as arguments that are not installed yet.
# As root: apt-get install (after apt-get update when a package is unknown).
# Otherwise: prints the exact command and fails.
set -eu
missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
    echo "vigil: missing Debian packages:$missing" >&2
    echo "run as root:  apt-get update && $cmd" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A package apt does not know yet means the package lists are missing or old.
need_update=0
for p in $missing; do
    apt-cache show "$p" >/dev/null 2>&1 || need_update=1
done
[ "$need_update" = 1 ] && apt-get update -q
echo "vigil: installing$missing" >&2
$cmd </dev/null
exit 0
