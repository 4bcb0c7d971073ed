"""One policy for unreadable input items: raise a DataError naming the item, or skip it and record why."""

from __future__ import annotations

from fer_engine.data.dataset import SkippedItem
from fer_engine.errors import DataError


class BadItemPolicy:
    """Collects `SkippedItem`s under `skip_bad=True`; otherwise the first bad item raises DataError."""

    def __init__(self, skip_bad: bool) -> None:
        self.skip_bad = skip_bad
        self.skipped: list[SkippedItem] = []

    def report(self, where: str, reason: str) -> None:
        """Record (skip_bad) or raise for the bad item at `where` (a file path or 'file.csv row N')."""
        if not self.skip_bad:
            raise DataError(f"{where}: {reason} (fix or remove it, or load with skip_bad=True / --skip-bad)")
        self.skipped.append(SkippedItem(where=where, reason=reason))
