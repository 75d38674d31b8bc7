#!/usr/bin/env bash
# Installs what svcnet needs, idempotently: npm packages from the lockfile, the native addons, the
# compiled build (dist/) and, when running as root, the Debian tools it drives.
#   scripts/setup.sh          what running needs (`npm start`)
#   scripts/setup.sh --test   also what the tests and benchmarks drive (`npm test`, `npm run bench`)
set -euo pipefail
cd "$(dirname "$0")/.."
with_tests=0
[ "${1:-}" = --test ] && with_tests=1

# Running needs the dependencies only; tests add the devDependencies (type checker, linter, clients).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  { [ "$with_tests" = 1 ] && [ ! -d node_modules/typescript ]; }; then
  echo "setup: installing npm packages" >&2
  if [ "$with_tests" = 1 ]; then npm ci --no-audit --no-fund >&2; else npm ci --omit=dev --no-audit --no-fund >&2; fi
fi

# Debian packages, as "command package" pairs: the package is installed when the command is missing.
runtime=(
  "nft nftables"
  "iptables-restore iptables"
  "ipset ipset"
  "conntrack conntrack"
  "ip iproute2"
  "openssl openssl"
  "sysctl procps"
  "nsenter util-linux"
  # Lab pods' init in their own PID namespace (kernel/sandbox.ts), as docker --init.
  "tini tini"
  # The README's first steps try Services with these from inside pods.
  "curl curl"
  "dig dnsutils"
  # The native addons (scripts/build-native.sh; node-gyp runs python3).
  "python3 python3"
  "cc gcc"
  "make make"
)
tests=(
  # Peers the benchmarks compare against.
  "haproxy haproxy"
  # The cloud-shaped load-balancer provider floats external IPs between two edges with VRRP.
  "keepalived keepalived"
  "dnsperf dnsperf"
  "dnsmasq dnsmasq-base"
  "iperf3 iperf3"
  # The IPVS VM (scripts/vm/run.sh): this machine's kernel may lack IPVS, Debian's cloud kernel has it.
  "qemu-system-x86_64 qemu-system-x86"
  "ipvsadm ipvsadm"
  "busybox busybox-static"
  "cpio cpio"
  # The dashboard's browser tests drive it headless through playwright-core.
  "chromium chromium"
  # The layer 2 announcer's lab test asks the LAN who has a LoadBalancer address.
  "arping iputils-arping"
  # The BGP announcer's lab test peers every node with BIRD in the outside namespace.
  "bird bird2"
)
need=()
wanted=("${runtime[@]}")
[ "$with_tests" = 1 ] && wanted+=("${tests[@]}")
for pair in "${wanted[@]}"; do
  command -v "${pair%% *}" >/dev/null 2>&1 || need+=("${pair#* }")
done
# Tests drive the official Python client: a module of Debian's python3, not a command.
if [ "$with_tests" = 1 ] && ! /usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1; then
  need+=(python3-kubernetes)
fi
# The kernel the IPVS VM boots: a package, not a command.
if [ "$with_tests" = 1 ] && ! ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1; then
  need+=(linux-image-cloud-amd64)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Another apt run on the machine (a second checkout's setup) holds dpkg's lock: wait for it.
    apt-get update -qq -o DPkg::Lock::Timeout=600 >&2
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >&2
  else
    echo "setup: not root, so not installing ${need[*]}; kernel tests will be skipped" >&2
  fi
fi

# Native addons (Linux only): batched UDP for DNS, the splice relay for bulk TCP. Without them
# the DNS server uses dgram and the userspace proxy relays every byte in JS.
bash scripts/build-native.sh
# The compiled build bin/svcnet runs (it falls back to the TypeScript sources without one).
node --import tsx scripts/build.ts --quiet
