"""`fer runs list | show | compare | delete | reindex`: browse the runs under a runs root, rebuild its index."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunRecord, RunStore, reindex


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer runs ...`."""
    parser = subparsers.add_parser("runs", help="list, show, compare and delete runs")
    commands = parser.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="every run, newest first")
    listing.add_argument("--kind", default=None, help="only runs of this kind (e.g. train)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=list_runs)

    show = commands.add_parser("show", help="one run: config, summary, metrics per epoch, files available")
    show.add_argument("run", help="run id or run folder")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=show_run)

    compare = commands.add_parser("compare", help="headline metrics and differing config fields of runs")
    compare.add_argument("runs", nargs="+", help="run ids or run folders")
    compare.add_argument("--csv", type=Path, default=None, help="also write the table to this CSV file")
    compare.add_argument("--all-config", action="store_true", help="keep config fields that are equal too")
    compare.set_defaults(func=compare_runs_command)

    delete = commands.add_parser("delete", help="remove a run's folder and index row (not while it runs)")
    delete.add_argument("run", help="run id")
    delete.add_argument("--yes", action="store_true", help="confirm: the run folder is deleted for good")
    delete.set_defaults(func=delete_run)

    rebuild = commands.add_parser(
        "reindex", help="rebuild the run index (index.sqlite) from the run folders; a damaged index is moved aside"
    )
    rebuild.add_argument(
        "--force",
        action="store_true",
        help="move the index aside and rebuild it even when it reads fine (its job queue is not kept)",
    )
    rebuild.set_defaults(func=reindex_runs)

    for sub in (listing, show, compare, delete, rebuild):
        sub.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")


def list_runs(args: argparse.Namespace) -> int:
    """Print the run index as a table or JSON."""
    records = RunStore(args.runs_root).list(kind=args.kind)
    if args.json:
        print(json.dumps([asdict(r) for r in records], indent=2))
        return 0
    if not records:
        print("no runs yet (train one with `fer train` or `fer jobs submit`)")
        return 0
    rows = [
        (r.run_id, r.status, r.kind, r.arch or "-", r.preset or "-", _when(r.created_at), _headline(r)) for r in records
    ]
    _print_table(("RUN", "STATUS", "KIND", "ARCH", "PRESET", "CREATED", "METRICS"), rows)
    return 0


def run_details(store: RunStore, run: RunPaths) -> dict[str, Any]:
    """Everything `fer runs show` prints about a run, as JSON-ready data."""
    record: RunRecord | None = None
    try:
        record = store.get(run.run_id) if run.root.parent.resolve() == store.root.resolve() else None
    except Exception:  # noqa: BLE001 - an unindexed folder is still shown
        record = None
    files = {
        "checkpoint": run.has_checkpoint(),
        "resume_state": run.resume_state.is_file(),
        "embeddings": sorted(p.stem for p in run.embeddings_dir.glob("*.npz")) if run.embeddings_dir.is_dir() else [],
        "heads": sorted(p.name for p in run.heads_dir.iterdir()) if run.heads_dir.is_dir() else [],
        "reports": sorted(p.name for p in run.reports_dir.iterdir()) if run.reports_dir.is_dir() else [],
        "log": str(run.log_file) if run.log_file.exists() else None,
    }
    return {
        "run_id": run.run_id,
        "path": str(run.root),
        "index": asdict(record) if record else None,
        "config": run.read_config(),
        "summary": _safe_summary(run),
        "metrics": run.read_metrics(),
        "files": files,
    }


def show_run(args: argparse.Namespace) -> int:
    """Print one run's config, summary, per-epoch metrics and available files."""
    store = RunStore(args.runs_root)
    details = run_details(store, store.find(args.run))
    if args.json:
        print(json.dumps(details, indent=2, default=str))
        return 0
    index = details["index"] or {}
    print(f"run {details['run_id']}  ({details['path']})")
    if index:
        print(f"  status {index['status']}, kind {index['kind']}, created {_when(index['created_at'])}")
        if index["metrics"]:
            print("  metrics: " + ", ".join(f"{k}={_fmt(v)}" for k, v in index["metrics"].items()))
    _print_section("config", details["config"])
    _print_section("summary", details["summary"])
    epochs = details["metrics"]
    if epochs:
        print(f"epochs ({len(epochs)}):")
        keys = [k for k in epochs[0] if isinstance(epochs[0][k], (int, float))][:8]
        _print_table(tuple(keys), [tuple(_fmt(e.get(k)) for k in keys) for e in epochs], indent="  ")
    print("files:")
    for name, value in details["files"].items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"  {name}: {shown if shown not in ([], '', None) else '-'}")
    return 0


def compare_runs_command(args: argparse.Namespace) -> int:
    """Print (and optionally save as CSV) the comparison table of several runs."""
    import pandas as pd

    from fer_engine.runs.compare import compare_runs

    table = compare_runs(args.runs, store=RunStore(args.runs_root), all_config=args.all_config)
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv)
        print(f"wrote {args.csv}")
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
        print(table.T.to_string())
    return 0


def delete_run(args: argparse.Namespace) -> int:
    """Delete a run (refused while it or its job is running)."""
    if not args.yes:
        raise ConfigError(f"deleting run '{args.run}' removes its folder for good; add --yes to confirm")
    RunStore(args.runs_root).delete(args.run)
    print(f"deleted run {args.run}")
    return 0


def reindex_runs(args: argparse.Namespace) -> int:
    """Rebuild the index from the run folders and say what happened to the old file."""
    result = reindex(args.runs_root, force=args.force)
    if result.moved_aside is not None:
        print(f"moved the old index aside to {result.moved_aside} (kept; its job queue is not carried over)")
    print(f"{result.db_path}: {len(result.added)} run folder(s) indexed now, {result.total} run(s) in the index")
    return 0


# ---- formatting ------------------------------------------------------------------------------------------------
def _safe_summary(run: RunPaths) -> dict[str, Any]:
    try:
        return run.read_summary()
    except (OSError, json.JSONDecodeError):
        return {}


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "-"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _headline(record: RunRecord) -> str:
    numbers = [(k, v) for k, v in record.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return " ".join(f"{k}={_fmt(v)}" for k, v in numbers[:3]) or "-"


def _print_section(title: str, data: dict[str, Any]) -> None:
    if not data:
        return
    print(f"{title}:")
    for key, value in data.items():
        text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else _fmt(value)
        print(f"  {key}: {text if len(text) <= 100 else text[:97] + '...'}")


def _print_table(header: tuple[str, ...], rows: list[tuple], indent: str = "") -> None:
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) for i, h in enumerate(header)]
    print(indent + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print(indent + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
