"""Scripts that print measured figures: `python -m benchmarks.NAME`; last line is JSON."""
