# Data-layer fixtures (tiny files in every source format), written with PIL.
/usr/bin/python3 test/fixtures/data/make_fixtures.py
