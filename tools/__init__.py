"""Developer tooling: run the emulator and throwaway Airflow homes for the demo, tests and benchmarks."""
