# Weights I/O fixtures (torch.save files, pickles, safetensors, zips): test/fixtures/io/expected.json
/usr/bin/python3 test/fixtures/io/gen_io.py
