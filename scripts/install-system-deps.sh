#!/usr/bin/env bash
# Installs the Debian packages Relay's local topology and tests need, once; a no-op when present.
# Extra package names may be passed (`make up` passes postgresql only when no Postgres answers).
set -euo pipefail

# chromium and libnss3-tools (certutil): the browser tests drive a real headless Chromium that
# trusts the topology's CA through its NSS database (tests/e2e/test_web_client.py).
packages=(haproxy openssl chromium libnss3-tools "$@")
# Tests start their own redis-server on a free port; a machine with Redis already has the binary.
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
