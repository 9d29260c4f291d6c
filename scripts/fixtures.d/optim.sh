# Scheduler and optimizer fixtures from PyTorch (run from the repo root): test/fixtures/optim/*.json
/usr/bin/python3 test/fixtures/optim/gen_schedulers.py && /usr/bin/python3 test/fixtures/optim/gen_optimizers.py
/usr/bin/python3 test/fixtures/optim/gen_clip.py && /usr/bin/python3 test/fixtures/optim/gen_onecycle.py
