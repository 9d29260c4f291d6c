# Detection ops (nms, batched_nms, roi_align and its gradient, box utilities, BoxCoder, LevelMapper)
# from Debian's torchvision 0.14: test/fixtures/detection/detection.safetensors
/usr/bin/python3 test/fixtures/detection/gen_detection.py
# RPN pieces (AnchorGenerator, RPNHead, proposal filtering) from torchvision 0.14: test/fixtures/detection/rpn.safetensors
/usr/bin/python3 test/fixtures/detection/gen_rpn.py
# GeneralizedRCNNTransform (normalize, resize, batch, postprocess) and paste_masks_in_image from torchvision 0.14: test/fixtures/detection/rcnn-transform.safetensors
/usr/bin/python3 test/fixtures/detection/gen_rcnn_transform.py
