#!/usr/bin/env bash
# Installs what svcnet and its tests need, idempotently: npm packages from the lockfile and, when
# running as root, the Debian tools the kernel data planes and tests drive.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund >&2
fi

need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v sysctl >/dev/null 2>&1 || need+=(procps)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
# Tests: the official Python client (test/client-python.test.ts), for Debian's own python3.
/usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1 || need+=(python3-kubernetes)
# For the native addons (scripts/build-native.sh).
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  else
    echo "setup: not root, so not installing ${need[*]}; kernel tests will be skipped" >&2
  fi
fi

# Native addons (Linux only): batched UDP for DNS, the splice relay for bulk TCP. Without them
# the DNS server uses dgram and the userspace proxy relays every byte in JS.
bash scripts/build-native.sh
