"""The platform on one machine: `make run` (docs/OPERATIONS.md)."""
