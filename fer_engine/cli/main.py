"""Entry point of the `fer` command: builds argparse from the command modules and turns FerError into exit 2."""

from __future__ import annotations

import argparse
import importlib
import os
import re
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
    "video",
    "export",
    "ship",
    "jobs",
    "worker",
    "sweep",
)


def build_parser() -> argparse.ArgumentParser:
    """The full `fer` parser with every command group that is installed."""
    parser = argparse.ArgumentParser(prog="fer", description="Facial expression recognition on FER2013.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"fer_engine.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] == "fer_engine":
                raise
            _register_unavailable(subparsers, name, exc.name or "a package")
            continue
        module.register(subparsers)
    return parser


def _register_unavailable(subparsers: argparse._SubParsersAction, name: str, missing: str) -> None:
    """A command whose third-party package is not installed: it exists, and says what to install.

    The other commands keep working (e.g. `fer train` on a GPU host that has torch but not xgboost).
    """
    message = (
        f"`fer {name}` needs the Python package '{missing}', which is not installed (pip install -r requirements.txt)"
    )
    parser = subparsers.add_parser(name, help=f"(unavailable: needs {missing})", add_help=False)

    def unavailable(_args: argparse.Namespace) -> int:
        raise FerError(message)

    parser.set_defaults(func=unavailable, accepts_any_arguments=True)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` without control characters (terminal escape sequences, bidi overrides) a data file may carry;
    newlines and tabs stay."""
    return _CONTROL_CHARACTERS.sub("", text)


def main(argv: list[str] | None = None) -> int:
    """Run `fer`; user-facing errors print one line to stderr and exit with status 2."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_any_arguments", False):
        parser.parse_args(argv)  # reports the unknown arguments the usual way (exit 2)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except FerError as exc:
        print(f"fer: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fer ... | head` closed the pipe: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
