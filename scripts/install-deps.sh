#!/usr/bin/env bash
# Installs the system packages Bundlecast needs to build and test, if missing.
# As root it runs apt-get; otherwise it says what to install.
set -euo pipefail

need=()
pkg-config --exists libsodium 2>/dev/null || need+=(libsodium-dev)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
# Tests that damage a database on purpose use the sqlite3 shell.
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v minisign >/dev/null 2>&1 || need+=(minisign)
command -v b2sum >/dev/null 2>&1 || need+=(coreutils)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
# The browser test (Tests/Browser): Debian's Chromium, its driver, and Selenium for the system Python.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import selenium' >/dev/null 2>&1; } || need+=(python3-selenium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bundlecast: missing system packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
