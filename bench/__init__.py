"""Benchmarks (`make bench`): numbers are printed, recorded in docs/benchmarks.md, never asserted in tests."""
