"""Entry point of the `fer` command: builds argparse from the command modules and turns FerError into exit 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from fer_engine.errors import FerError

# Each module defines `register(subparsers)`, adding its commands with `set_defaults(func=...)`;
# `func(args) -> int` returns the exit status.
COMMAND_MODULES = (
    "data",
    "model",
    "train",
    "embed",
    "project",
    "heads",
    "evaluate",
    "report",
    "runs",
    "reproduce",
    "study",
    "predict",
    "export",
    "ship",
    "jobs",
    "worker",
)


def build_parser() -> argparse.ArgumentParser:
    """The full `fer` parser with every command group that is installed."""
    parser = argparse.ArgumentParser(prog="fer", description="Facial expression recognition on FER2013.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"fer_engine.cli.{name}_cmd")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `fer`; user-facing errors print one line to stderr and exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except FerError as exc:
        print(f"fer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
