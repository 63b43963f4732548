"""The benchmark and the stand-in providers it (and the fault tests) run as real processes."""
