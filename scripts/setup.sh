#!/usr/bin/env bash
# Sets up segkit on a fresh Debian machine: system packages (libtorch, OpenBLAS, Python's
# torch/torchvision for fixtures and benchmark peers, python3-onnx for the test that runs ONNX's
# checker on exported files, Chromium for the browser page's test), npm packages, the native addon,
# the TypeScript build. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for pkg in libtorch-dev libopenblas0-pthread python3-torch python3-torchvision python3-onnx chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  elif ! node scripts/find-libtorch.mjs >/dev/null 2>&1; then
    node scripts/find-libtorch.mjs  # prints how to install libtorch
    exit 1
  fi
fi

# onnxruntime-node (the ONNX Runtime backend) would download CUDA libraries; its CPU build ships in the package
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund  # its install script builds the native addon
fi

# rebuilds the addon only when native/ changed since, or libtorch moved
node scripts/build-native.mjs
npm run -s build
