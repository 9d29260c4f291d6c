#!/usr/bin/env bash
# Regenerates every committed test fixture from its generator (needs python3-torch, python3-torchvision).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in scripts/fixtures.d/*.sh; do
  echo "== $f"
  bash "$f"
done
