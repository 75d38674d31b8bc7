#!/usr/bin/env bash
# The main job: install what is missing, then bring svcnet up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec ./bin/svcnet up "$@"
