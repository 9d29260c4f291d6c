# smp golden fixture (state-dict key lists, outputs with closed-form weights): test/fixtures/models/smp/
# Needs SMP_SRC, a segmentation_models.pytorch checkout (tag v0.5.0); without one it skips and the
# committed files stay as they are (the tests read those).
if [ -z "${SMP_SRC:-}" ]; then
  echo "skip test/fixtures/models/smp/gen_smp.py: SMP_SRC is not set; to regenerate, run with SMP_SRC=<root of a segmentation_models.pytorch checkout at v0.5.0>"
  exit 0
fi
/usr/bin/python3 test/fixtures/models/smp/gen_smp.py
