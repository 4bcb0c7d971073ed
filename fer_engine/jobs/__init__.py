"""Jobs: a durable queue of pipeline runs in the runs root's SQLite index, served by worker processes."""

from fer_engine.jobs.local_worker import ensure_local_worker
from fer_engine.jobs.progress import JobProgress
from fer_engine.jobs.queue import FINISHED_STATES, JOB_STATES, Job, JobNotFoundError, JobQueue, WorkerRecord
from fer_engine.jobs.worker import Worker, WorkerReport

__all__ = [
    "FINISHED_STATES",
    "JOB_STATES",
    "Job",
    "JobNotFoundError",
    "JobProgress",
    "JobQueue",
    "Worker",
    "WorkerRecord",
    "WorkerReport",
    "ensure_local_worker",
]
