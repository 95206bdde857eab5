"""Benchmarks (`make bench`): numbers are printed, recorded in the README, never asserted in tests."""
