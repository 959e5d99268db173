"""The scheduler each store is run by in this process, for the operators' view (next run, runJobNow).

A `JobScheduler` registers itself here when it is built; the operators' resolvers find it by the store
they read. No scheduler for a store (the app was started without ``run_jobs``): no next run is known,
and ``runJobNow`` says the jobs do not run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from store.db import Database

if TYPE_CHECKING:
    from .scheduler import JobScheduler

_schedulers: WeakKeyDictionary[Database, JobScheduler] = WeakKeyDictionary()


def register(db: Database, scheduler: JobScheduler) -> None:
    """``scheduler`` runs the jobs of ``db`` in this process (the latest registered wins)."""
    _schedulers[db] = scheduler


def scheduler_for(db: Database) -> JobScheduler | None:
    """The scheduler running ``db``'s jobs in this process, or None."""
    return _schedulers.get(db)
