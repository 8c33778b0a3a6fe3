#!/usr/bin/env bash
# install-deps.sh - installs mtrank's build dependencies from Debian 12's archive when they are missing.
# Runs apt-get only as root; otherwise prints the command to run.
set -euo pipefail
packages=(gcc make libopenblas-pthread-dev libjansson-dev zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing build dependencies: ${missing[*]}" >&2
    echo "run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
