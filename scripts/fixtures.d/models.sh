# UNet golden fixture from bench/peers/unet.py: test/fixtures/models/unet.*
/usr/bin/python3 test/fixtures/models/gen_unet.py
