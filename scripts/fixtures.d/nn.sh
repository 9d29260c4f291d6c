# nn fixtures from PyTorch 1.13 (layer outputs/gradients, init values, a torch.save'd nested model): test/fixtures/nn/
/usr/bin/python3 test/fixtures/nn/gen_nn.py
