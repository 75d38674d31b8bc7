#!/usr/bin/env bash
# Full benchmark runs (slow; not part of npm test, which only smoke-runs each one).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
for b in bench/*.ts; do
  echo "== $b"
  node --import tsx "$b" "$@"
done
