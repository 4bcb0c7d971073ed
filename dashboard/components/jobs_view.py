"""The jobs table of the Train page: refreshed every 2 s as a fragment, with a job's curves, log tail and actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.components.charts import curves
from dashboard.components.engine import show_error
from fer_engine.errors import FerError
from fer_engine.runs.layout import RunPaths

LOG_TAIL_LINES = 40
_CURVE_GROUPS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_accuracy", "val_accuracy",
                                                                   "val_knn_accuracy")}


def progress_fraction(progress: dict[str, Any] | None) -> float | None:
    """How far the job's current step is, in [0, 1] (the progress record's fraction, else epoch / total_epochs)."""
    if not progress:
        return None
    if isinstance(progress.get("fraction"), (int, float)):
        return max(0.0, min(1.0, float(progress["fraction"])))
    epoch, total = progress.get("epoch"), progress.get("total_epochs")
    if isinstance(epoch, (int, float)) and isinstance(total, (int, float)) and total > 0:
        return max(0.0, min(1.0, epoch / total))
    return None


def progress_text(progress: dict[str, Any] | None) -> str:
    """One line for humans: step, epoch, time left and the latest metrics of the progress record."""
    if not progress:
        return ""
    parts = []
    if progress.get("step"):
        parts.append(str(progress["step"]))
    if progress.get("epoch") is not None:
        total = progress.get("total_epochs")
        parts.append(f"epoch {progress['epoch']}" + (f"/{total}" if total else ""))
    if isinstance(progress.get("eta_seconds"), (int, float)):
        parts.append(f"~{progress['eta_seconds'] / 60:.1f} min left")
    metrics = progress.get("metrics") or {}
    parts += [f"{name} {value:.4g}" for name, value in list(metrics.items())[:3] if isinstance(value, (int, float))]
    if progress.get("message"):
        parts.append(str(progress["message"]))
    return " · ".join(parts)


def jobs_frame(jobs: list[Any]) -> pd.DataFrame:
    """A table of fer_engine.jobs.queue.Job rows for st.dataframe."""
    rows = []
    for job in jobs:
        rows.append({
            "job": job.id,
            "name": job.name,
            "state": job.state + (" (cancelling)" if job.cancel_requested and not job.finished else ""),
            "progress": progress_fraction(job.progress),
            "detail": progress_text(job.progress),
            "attempts": f"{job.attempts}/{job.max_attempts}",
            "run": job.run_id or "",
            "created": pd.Timestamp(job.created_at, unit="s"),
            "error": (job.error or "")[:200],
        })
    return pd.DataFrame(rows)


def log_tail(path: str | Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file ('' when there is none yet)."""
    if not path or not Path(path).is_file():
        return ""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def metrics_curves(run: RunPaths) -> dict[str, pd.DataFrame]:
    """Loss and accuracy per epoch from the run's metrics.jsonl, long format (epoch, metric, value)."""
    records = run.read_metrics() if run.metrics_log.exists() else []
    frame = pd.DataFrame(records)
    if frame.empty or "epoch" not in frame:
        return {}
    result = {}
    for group, names in _CURVE_GROUPS.items():
        present = [name for name in names if name in frame]
        if present:
            result[group] = frame.melt(id_vars="epoch", value_vars=present, var_name="metric", value_name="value")
    return result


@st.fragment(run_every=2)
def _jobs_fragment(root: str) -> None:
    from fer_engine.jobs import queue as jobs_queue

    queue = jobs_queue.JobQueue(Path(root))
    try:
        jobs = list(queue.list())
    except FerError as exc:
        show_error(exc, "Reading the job queue")
        return
    if not jobs:
        st.info("No jobs yet: queue one with the form above.")
        return
    st.dataframe(
        jobs_frame(jobs), hide_index=True, key="jobs-table",
        column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0)},
    )
    by_id = {job.id: job for job in jobs}
    chosen_id = st.selectbox("job", list(by_id), key="job-detail",
                             format_func=lambda job_id: f"{job_id} · {by_id[job_id].name} · {by_id[job_id].state}")
    job = by_id[chosen_id]
    state = job.state
    fraction = progress_fraction(job.progress)
    if fraction is not None:
        st.progress(fraction, text=progress_text(job.progress) or state)
    if job.error:
        st.error(f"Job {chosen_id}: {job.error}")
    actions = st.columns(4)
    try:
        if state in (jobs_queue.QUEUED, jobs_queue.RUNNING) and not job.cancel_requested and actions[0].button("Cancel", key=f"cancel-{chosen_id}"):
            queue.request_cancel(job.id)
            st.toast(f"Cancellation requested for job {chosen_id}")
        if state in (jobs_queue.FAILED, jobs_queue.CANCELLED) and actions[1].button("Retry", key=f"retry-{chosen_id}"):
            queue.retry(job.id)
            st.toast(f"Job {chosen_id} queued again")
    except FerError as exc:
        show_error(exc, f"Job {chosen_id}")
    run_id = job.run_id
    if run_id:
        run = RunPaths(Path(root) / str(run_id))
        groups = metrics_curves(run)
        if groups:
            columns = st.columns(len(groups))
            for column, (group, frame) in zip(columns, groups.items()):
                column.plotly_chart(curves(frame, x="epoch", y="value", color="metric", title=group),
                                    key=f"curve-{chosen_id}-{group}")
        else:
            st.caption("No epoch finished yet.")
    tail = log_tail(job.log_path)
    with st.expander("log (last lines)", expanded=state == jobs_queue.FAILED):
        st.code(tail or "(empty)", language=None)


def render_jobs(root: Path) -> None:
    """Show the job queue under `root`; the fragment reruns every 2 s on its own while this page is open."""
    _jobs_fragment(str(root))
