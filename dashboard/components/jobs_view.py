"""The jobs table of the Train page: refreshed every 2 s as a fragment, with a job's curves, log tail and actions.

Everyone sees every job's state, owner, progress and one-line reason; only the job's owner (or an admin) gets its
cancel/retry buttons and its log (the library enforces the same rule, `fer_engine.jobs.owners`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.components.auth import current_user
from dashboard.components.charts import curves
from dashboard.components.engine import show_error
from fer_engine.errors import FerError
from fer_engine.jobs.local_worker import WORKER_ALIVE_S, ensure_local_worker
from fer_engine.jobs.owners import can_manage
from fer_engine.jobs.queue import CANCELLED, FAILED, QUEUED, RUNNING, Job, JobQueue
from fer_engine.jobs.reasons import one_line
from fer_engine.jobs.summary import job_summary, log_tail
from fer_engine.runs.layout import RunPaths

_CURVE_GROUPS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_accuracy", "val_accuracy", "val_knn_accuracy")}


def jobs_frame(jobs: list[Job]) -> pd.DataFrame:
    """A table of the queue's jobs for st.dataframe, each row `fer_engine.jobs.summary.job_summary`."""
    rows = []
    for job in jobs:
        summary = job_summary(job)
        rows.append(
            {
                "job": summary.id,
                "name": summary.name,
                "owner": summary.owner,
                "state": summary.state,
                "progress": summary.fraction,
                "detail": summary.progress,
                "attempts": summary.attempts,
                "run": summary.run_id,
                "created": pd.Timestamp(summary.created_at, unit="s"),
                "error": summary.error,
            }
        )
    return pd.DataFrame(rows)


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


def _worker_notice(queue: JobQueue, jobs: list[Job]) -> None:
    """Say so when jobs are queued and no worker is alive to run them, with a button that starts one."""
    queued = sum(job.state == QUEUED for job in jobs)
    if not queued or queue.live_workers(WORKER_ALIVE_S):
        return
    st.warning(
        f"{queued} job(s) queued, but no worker is running: nothing will train them until one starts.",
        icon=":material/warning:",
    )
    if st.button("Start a worker", key="start-worker", help="a background worker on this machine (fer worker)"):
        try:
            pid = ensure_local_worker(queue.root)
        except FerError as exc:
            show_error(exc, "Starting a worker")
            return
        st.toast("Worker started" if pid else "A worker is already running")


@st.fragment(run_every=2)
def _jobs_fragment(root: str) -> None:
    try:
        queue = JobQueue(Path(root))
        jobs = list(queue.list())
    except FerError as exc:
        show_error(exc, "Reading the job queue")
        return
    if not jobs:
        st.info("No jobs yet: queue one with the form above.")
        return
    _worker_notice(queue, jobs)
    user = current_user()
    st.dataframe(
        jobs_frame(jobs),
        hide_index=True,
        key="jobs-table",
        column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0)},
    )
    by_id = {job.id: job for job in jobs}
    chosen_id = st.selectbox(
        "job",
        list(by_id),
        key="job-detail",
        format_func=lambda job_id: f"{job_id} · {by_id[job_id].name} · {by_id[job_id].state}",
    )
    job = by_id[chosen_id]
    state = job.state
    summary = job_summary(job)
    fraction, detail = summary.fraction, summary.progress
    if fraction is not None:
        st.progress(fraction, text=detail or state)
    elif detail:
        st.caption(detail)
    if job.error:
        st.error(f"Job {chosen_id}: {one_line(job.error)}")
    manager = can_manage(job.owner, user)
    actions = st.columns(4)
    try:
        if (
            manager
            and state in (QUEUED, RUNNING)
            and not job.cancel_requested
            and actions[0].button("Cancel", key=f"cancel-{chosen_id}")
        ):
            queue.request_cancel(job.id, user=user)
            st.toast(f"Cancellation requested for job {chosen_id}")
        if manager and state in (FAILED, CANCELLED) and actions[1].button("Retry", key=f"retry-{chosen_id}"):
            queue.retry(job.id, user=user)
            st.toast(f"Job {chosen_id} queued again")
    except FerError as exc:
        show_error(exc, f"Job {chosen_id}")
    if not manager:
        st.caption(f"Queued by {job.owner}: only they or an admin can cancel or retry it and read its log.")
    run_id = job.run_id
    if run_id:
        run = RunPaths(Path(root) / str(run_id))
        groups = metrics_curves(run)
        if groups:
            columns = st.columns(len(groups))
            for column, (group, frame) in zip(columns, groups.items()):
                column.plotly_chart(
                    curves(frame, x="epoch", y="value", color="metric", title=group), key=f"curve-{chosen_id}-{group}"
                )
        else:
            st.caption("No epoch finished yet.")
    if manager:  # the log may hold file contents and tracebacks: its owner's (and admins') only
        tail = log_tail(job.log_path)
        with st.expander("log (last lines)", expanded=state == FAILED):
            st.code(tail or "(empty)", language=None)


def render_jobs(root: Path) -> None:
    """Show the job queue under `root`; the fragment reruns every 2 s on its own while this page is open."""
    _jobs_fragment(str(root))
