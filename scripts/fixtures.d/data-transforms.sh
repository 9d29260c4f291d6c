# Augmentation reference outputs from torchvision 0.14: test/fixtures/data/transforms/torchvision.json
/usr/bin/python3 test/fixtures/data/transforms/gen_transforms.py
