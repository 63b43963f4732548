"""The shared fixtures are pytest plugins in tests/support/; helpers are imported from there."""

pytest_plugins = ["tests.support.fixtures", "tests.support.callbacks"]
