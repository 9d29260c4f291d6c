# COCO evaluation from pycocotools (run from the repo root): test/fixtures/metrics/coco.json.
# pycocotools is not in Debian: point COCOAPI at a checkout of github.com/cocodataset/cocoapi
# (needs Debian's cython3 and python3-numpy). It is built in a temporary copy, never committed.
# (COCOAPI_COMMIT names the commit when the checkout has no .git; it is recorded in the fixture.)
# Its cocoeval.py uses np.float, gone from numpy 1.24: the copy gets `float` instead (same float64).
if [ -z "${COCOAPI:-}" ]; then
  echo "skipped: set COCOAPI=/path/to/cocoapi (a checkout of cocodataset/cocoapi) to regenerate coco.json"
  exit 0
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp -r "$COCOAPI/common" "$COCOAPI/PythonAPI" "$build/"
sed -i 's/dtype=np.float)/dtype=float)/' "$build/PythonAPI/pycocotools/cocoeval.py"
(cd "$build/PythonAPI" && cython3 -3 pycocotools/_mask.pyx && /usr/bin/python3 setup.py build_ext --inplace >/dev/null)
COCOAPI_COMMIT="${COCOAPI_COMMIT:-$(git -C "$COCOAPI" rev-parse HEAD 2>/dev/null)}" PYTHONPATH="$build/PythonAPI" /usr/bin/python3 test/fixtures/metrics/gen_coco.py
