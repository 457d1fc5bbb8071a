"""Built-in example workloads: seeded, numpy-only jobs the runner can call out of the box."""
