# Op-parity fixtures for the tensor layer (values and gradients from PyTorch): test/fixtures/torch/ops.safetensors
/usr/bin/python3 test/fixtures/torch/gen_torch.py
