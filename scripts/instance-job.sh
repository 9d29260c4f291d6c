#!/usr/bin/env bash
# Instance segmentation from the CLI, as a user runs it: generate the bundled shapes dataset (its
# annotations.json is COCO instances), train a small Mask R-CNN from scratch on it
# (configs/shapes-maskrcnn.yaml), score the best checkpoint's masks and boxes (COCO AP) on the
# held-out test part, and draw the detections of a few test images. `npm run demo:instance` runs this.
#
#   SEGKIT_DEMO_ITERATIONS=50 npm run demo:instance   # a shorter run
#   SEGKIT_DEMO_DIR=/tmp/x npm run demo:instance       # data/ and runs/ under /tmp/x instead of here
set -euo pipefail
cd "$(dirname "$0")/.."
segkit() { node dist/src/cli/main.js "$@"; }
work=${SEGKIT_DEMO_DIR:-.}
data=$work/data/shapes-instances
run=$work/runs/shapes-maskrcnn
started=$(date +%s)

segkit make-dataset --dir "$data" --count 2000 --size 96

# a rerun starts afresh; the run before it is kept beside it
if [ -d "$run" ]; then
  rm -rf "$run.previous"
  mv "$run" "$run.previous"
  echo "moved the earlier run to $run.previous"
fi
overrides=(--set "data.path=$data/annotations.json" --set "outDir=$work/runs")
if [ -n "${SEGKIT_DEMO_ITERATIONS:-}" ]; then
  # a short run: the lr drop and the validation move with it
  overrides+=(--set "train.iterations=$SEGKIT_DEMO_ITERATIONS" --set "val.every=$SEGKIT_DEMO_ITERATIONS" --set "scheduler.milestones=[$(( SEGKIT_DEMO_ITERATIONS * 4 / 5 ))]" --set "scheduler.warmupIters=$(( SEGKIT_DEMO_ITERATIONS / 10 ))")
fi
segkit train configs/shapes-maskrcnn.yaml "${overrides[@]}"

# the test part of the run's own split: never trained on, never used to pick the checkpoint
segkit eval "$run/split.csv" --split test --weights "$run/best.safetensors" --out "$run/test"

mapfile -t test_images < <(awk -F, '$2 == "test" { print $3 }' "$run/split.csv" | head -n 8)
segkit predict "${test_images[@]}" --weights "$run/best.safetensors" --save overlay,instances,coco --out "$run/predictions"

echo
echo "instance job done in $(( $(date +%s) - started )) s"
echo "  training report:  $run/report.html (loss terms, COCO AP per validation, samples)"
echo "  test report:      $run/test/report.html, $run/test/report.md (mask and box AP, per class)"
echo "  test predictions: $run/predictions/ (overlays, one PNG per instance, detections.json)"
