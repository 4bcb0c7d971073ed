"""`fer report RUN`: the run's results in the paper's layout, beside the published numbers (Markdown)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer report`."""
    parser = subparsers.add_parser("report", help="write and print reports/report.md of a run")
    parser.add_argument("run", help="run id (under --runs-root) or run folder")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Evaluate what is outdated, write the Markdown report and print it."""
    from fer_engine.evaluation.report import write_report
    from fer_engine.pipeline import resolve_run

    run = resolve_run(args.run, args.runs_root)
    path = write_report(run)
    print(path.read_text(), end="")
    print(f"\n(written to {path})")
    return 0
