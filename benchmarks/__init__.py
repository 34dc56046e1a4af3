"""Benchmarks: ``python -m benchmarks [scenario ...] [--quick] [--json PATH]``.

Each scenario prints table rows and returns them for the JSON file. Figures are measured side by
side in one run and reported as ratios; none of this is a timed unit test.
"""
