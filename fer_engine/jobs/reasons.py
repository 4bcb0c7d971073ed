"""A job's stored error: one safe line for every viewer (the full traceback stays in the owner's job log).

Exceptions from libraries can carry file contents (a CSV row in a parse error) or server paths; only a
`FerError`'s message is written for users, other exceptions are named by type.
"""

from __future__ import annotations

import re

from fer_engine.errors import FerError

MAX_REASON_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str, max_chars: int = MAX_REASON_CHARS) -> str:
    """The first line of `text`, without control characters (terminal escapes), at most `max_chars` long."""
    line = _CONTROL.sub("", (text or "").strip().splitlines()[0] if (text or "").strip() else "")
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


def job_reason(error: BaseException) -> str:
    """What users see for a failed job: the FerError message, an OS error's own text, or the exception type."""
    if isinstance(error, FerError):
        return one_line(str(error)) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        return one_line(f"{error.strerror} (the job log has the details)")
    return f"internal error ({type(error).__name__}); the job log has the details"
