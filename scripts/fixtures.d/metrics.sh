# Segmentation metrics from scikit-learn (run from the repo root; needs Debian's python3-sklearn):
# test/fixtures/metrics/metrics.json
/usr/bin/python3 test/fixtures/metrics/gen_metrics.py
