"""Load tests and benchmarks of Relay deployments."""
