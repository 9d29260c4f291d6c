# Detection ops (nms, batched_nms, roi_align and its gradient, box utilities, BoxCoder, LevelMapper)
# from Debian's torchvision 0.14: test/fixtures/detection/detection.safetensors
/usr/bin/python3 test/fixtures/detection/gen_detection.py
