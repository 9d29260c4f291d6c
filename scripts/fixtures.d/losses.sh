# Loss fixtures (values and gradients from independent float64 references): test/fixtures/losses/
/usr/bin/python3 test/fixtures/losses/gen_losses.py
