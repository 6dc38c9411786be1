"""Benchmarks of the real CLI against the emulators (run with `make bench`)."""
