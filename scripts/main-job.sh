#!/usr/bin/env bash
# The main job, as a user runs it from the CLI: generate the bundled shapes dataset, train a UNet
# on it (configs/shapes-unet.yaml), score the best checkpoint on the held-out test part, predict
# panels for test images, and print where the reports are. `npm run demo` runs this.
#
#   SEGKIT_DEMO_ITERATIONS=150 npm run demo   # a shorter run (the main job's test does this)
#   SEGKIT_DEMO_DIR=/tmp/x npm run demo        # data/ and runs/ under /tmp/x instead of here
set -euo pipefail
cd "$(dirname "$0")/.."
segkit() { node dist/src/cli/main.js "$@"; }
work=${SEGKIT_DEMO_DIR:-.}
data=$work/data/shapes
run=$work/runs/shapes-unet
started=$(date +%s)

segkit make-dataset --dir "$data" --count 3600 --size 96

# a rerun starts afresh; the run before it is kept beside it
if [ -d "$run" ]; then
  rm -rf "$run.previous"
  mv "$run" "$run.previous"
  echo "moved the earlier run to $run.previous"
fi
overrides=(--set "data.path=$data" --set "outDir=$work/runs")
if [ -n "${SEGKIT_DEMO_ITERATIONS:-}" ]; then overrides+=(--set "train.iterations=$SEGKIT_DEMO_ITERATIONS"); fi
segkit train configs/shapes-unet.yaml "${overrides[@]}"

# the test part of the run's own split: never trained on, never used to pick the checkpoint
segkit eval "$run/split.csv" --split test --weights "$run/best.safetensors" --out "$run/test"

mapfile -t test_images < <(awk -F, '$2 == "test" { print $3 }' "$run/split.csv" | head -n 8)
segkit predict "${test_images[@]}" --weights "$run/best.safetensors" --save mask,overlay,panel \
  --masks "$data/masks" --out "$run/predictions"

echo
echo "main job done in $(( $(date +%s) - started )) s"
echo "  training report:  $run/report.html (curves, per-class table, confusion matrix, samples)"
echo "  test report:      $run/test/report.html, $run/test/report.md"
echo "  test predictions: $run/predictions/ (masks, overlays, image | prediction | truth panels)"
