"""Who owns a job and who may cancel or retry it: the user who queued it, or an admin.

The dashboard passes its signed-in user (`dashboard.components.auth.current_user()`, 'local' on localhost);
the CLI acts as the operator of the machine (the OS user), who can open the runs root's SQLite file anyway.
"""

from __future__ import annotations

import getpass
import os

from fer_engine.errors import FerError

LOCAL_OWNER = "local"  # old jobs (before owners were recorded) and localhost dashboard sessions
ADMINS_ENV = "FER_ADMINS"  # comma-separated user names who may cancel/retry anyone's jobs


class JobPermissionError(FerError):
    """A user tried to cancel or retry a job somebody else queued."""


def operator_name() -> str:
    """The CLI's user: the OS account name, or 'local' when it cannot be read."""
    try:
        return getpass.getuser() or LOCAL_OWNER
    except (KeyError, OSError):
        return LOCAL_OWNER


def admin_users() -> frozenset[str]:
    """Users allowed to manage every job: 'local' (whoever sits at the machine runs the server anyway) and the
    names listed in `FER_ADMINS` (comma-separated)."""
    listed = {name.strip() for name in os.environ.get(ADMINS_ENV, "").split(",") if name.strip()}
    return frozenset({LOCAL_OWNER, *listed})


def can_manage(owner: str, user: str | None) -> bool:
    """Whether `user` may cancel or retry a job of `owner` (None: the machine's operator, always)."""
    return user is None or user == owner or user in admin_users()


def require_manager(job_id: int, owner: str, user: str | None, action: str) -> None:
    """JobPermissionError unless `user` may do `action` on the job."""
    if not can_manage(owner, user):
        raise JobPermissionError(f"job {job_id} was queued by another user; only they or an admin can {action} it")
