# Detection ops (nms, batched_nms, roi_align and its gradient, box utilities, BoxCoder, LevelMapper)
# from Debian's torchvision 0.14: test/fixtures/detection/detection.safetensors
/usr/bin/python3 test/fixtures/detection/gen_detection.py
# RPN pieces (AnchorGenerator, RPNHead, proposal filtering) from torchvision 0.14: test/fixtures/detection/rpn.safetensors
/usr/bin/python3 test/fixtures/detection/gen_rpn.py
# Matcher and BalancedPositiveNegativeSampler (seeded draws) from torchvision 0.14: test/fixtures/detection/matcher.safetensors
/usr/bin/python3 test/fixtures/detection/gen_matcher.py
# RPN training losses, sampled anchors and head gradients (seeded) from torchvision 0.14: test/fixtures/detection/rpn_train.safetensors
/usr/bin/python3 test/fixtures/detection/gen_rpn_train.py
# GeneralizedRCNNTransform (normalize, resize, batch, postprocess) and paste_masks_in_image from torchvision 0.14: test/fixtures/detection/rcnn-transform.safetensors
/usr/bin/python3 test/fixtures/detection/gen_rcnn_transform.py
# RoIHeads (box and mask heads, detections, masks) from torchvision 0.14: test/fixtures/detection/roi_heads.safetensors
/usr/bin/python3 test/fixtures/detection/gen_roi_heads.py
