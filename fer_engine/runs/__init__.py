"""Runs: one folder per run (`RunPaths`) indexed in a SQLite store (`RunStore`)."""

from fer_engine.runs.layout import RunPaths

__all__ = ["RunPaths"]
