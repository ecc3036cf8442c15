"""Coverage-guided fuzz targets (atheris) for every parser of untrusted input.

See ``fuzz/README.md``. Not part of the installed package: run from a checkout.
"""
