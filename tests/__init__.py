"""The test suite (pytest), a package so that its modules import `tests.helpers` by name."""
