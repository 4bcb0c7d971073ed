"""One job as people read it: the same state, progress and reason in `fer jobs list|show` and on the Train page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fer_engine.jobs.progress import describe_progress, progress_fraction
from fer_engine.jobs.queue import Job
from fer_engine.jobs.reasons import MAX_REASON_CHARS, one_line

LOG_TAIL_LINES = 40
LOG_TAIL_BYTES = 64 * 1024  # a tail reads at most this much of the end of a log, however long the log


@dataclass(frozen=True)
class JobSummary:
    """What every viewer may see of a job (the log, which may hold file contents, is not part of it)."""

    id: int
    name: str
    owner: str
    state: str  # the queue state, '(cancelling)' added while a cancel request is pending
    fraction: float | None
    progress: str  # describe_progress: the current step and where it is
    attempts: str  # 'done/max'
    device: str
    run_id: str
    created_at: float
    error: str  # the stored reason on one line, never a traceback


def state_text(job: Job) -> str:
    """The job's state, with '(cancelling)' while a cancel request waits for its worker."""
    return job.state + (" (cancelling)" if job.cancel_requested and not job.finished else "")


def job_summary(job: Job, *, error_chars: int = MAX_REASON_CHARS) -> JobSummary:
    """`job` as one row of a jobs table; its error cut to one line of at most `error_chars` characters."""
    return JobSummary(
        id=job.id,
        name=job.name or "",
        owner=job.owner,
        state=state_text(job),
        fraction=progress_fraction(job.progress, job.state),
        progress=describe_progress(job.progress, job.state),
        attempts=f"{job.attempts}/{job.max_attempts}",
        device=job.device or "",
        run_id=job.run_id or "",
        created_at=job.created_at,
        error=one_line(job.error or "", error_chars),
    )


def log_tail(path: str | Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a job log ('' when there is none yet), read from its last LOG_TAIL_BYTES only."""
    if not path or not Path(path).is_file():
        return ""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - LOG_TAIL_BYTES))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
