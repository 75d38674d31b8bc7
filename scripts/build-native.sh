#!/usr/bin/env bash
# Builds the native addons (every native/*/binding.gyp) with node-gyp against this machine's Node
# headers, each only when a file of it is newer than its built .node. Linux only: elsewhere callers
# keep their pure-JS paths (the DNS server its dgram UDP). Uses npm's bundled node-gyp, which reads
# the headers from `npm config get nodedir` (no download).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" != Linux ]; then
  echo "build-native: not Linux, nothing to build" >&2
  exit 0
fi

# The compilers come from setup.sh's Debian list; here they are only checked.
for tool in cc make python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-native: $tool not found (Debian: gcc make python3; scripts/setup.sh installs them as root)" >&2; exit 1; }
done

gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || { echo "build-native: node-gyp not found at $gyp" >&2; exit 1; }
nodedir="$(npm config get nodedir 2>/dev/null || true)"
if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
fi
[ -f "$nodedir/include/node/node_api.h" ] || {
  echo "build-native: no Node headers under $nodedir/include/node (Debian: apt-get install libnode-dev)" >&2
  exit 1
}

for gypfile in native/*/binding.gyp; do
  [ -f "$gypfile" ] || continue
  addon="$(dirname "$gypfile")"
  target="$(sed -n 's/.*"target_name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$gypfile" | head -n1)"
  out="$addon/build/Release/$target.node"
  if [ -f "$out" ] && [ -z "$(find "$addon" -path "$addon/build" -prune -o -type f -newer "$out" -print -quit)" ]; then
    continue
  fi
  # node-gyp's log is shown only when the build fails; a terminal sees one line per addon.
  if [ -t 2 ]; then printf 'build-native: building %s… ' "$addon" >&2; fi
  log="$(mktemp)"
  if ! node "$gyp" rebuild --nodedir="$nodedir" -C "$addon" >"$log" 2>&1 || [ ! -f "$out" ]; then
    if [ -t 2 ]; then echo >&2; fi
    cat "$log" >&2
    rm -f "$log"
    echo "build-native: building $addon failed ($out was not produced)" >&2
    exit 1
  fi
  rm -f "$log"
  if [ -t 2 ]; then echo "done" >&2; fi
done
