"""`python -m fer_engine` runs the `fer` command."""

import sys

from fer_engine.cli.main import main

sys.exit(main())
