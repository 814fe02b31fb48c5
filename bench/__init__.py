"""On-demand load harness (`make bench`): see docs/benchmarks.md."""
