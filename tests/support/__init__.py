"""Helpers shared by the tests that must stay importable by name: builders of tiny data and runs, job runners that
worker processes import as 'support.runners:NAME', process and polling helpers, the Playwright browser helpers.

`tests/` is on sys.path through pytest's `pythonpath` setting (pyproject.toml); a worker subprocess gets it on
PYTHONPATH from `support.processes.start_worker`. Fixtures live in the conftest.py files, not here.
"""
