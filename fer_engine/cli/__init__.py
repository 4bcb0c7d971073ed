"""The `fer` command line: `main.py` composes one module per command group."""
