#!/usr/bin/env bash
# What the test suite needs beyond Python, from Debian's packages; does nothing when all are present:
# - PostgreSQL and MariaDB server binaries for the restore drills' SQL-check tests (the tests start
#   throwaway servers on loopback);
# - redis-server for the cache drills' checks (a throwaway server on loopback, with a password);
# - Chromium, in which the demo's HTML report test opens report.html headless.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing ${missing[*]} (Debian packages) for the tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
