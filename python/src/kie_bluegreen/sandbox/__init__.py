"""The embedded AWS world used by `demo`, `sandbox up`, the tests and the benchmark.

Nothing in the runner's phases imports this package: it only builds things through the same
public AWS APIs a user's account offers.
"""
