"""Scheduled jobs: the spec's daily polls of the hospitals, turned into messages to patients.

11.1.1 low-deposit reminders, 12.1.1 one-day bill notices, 19.2.1/19.2.2 revisit reminders and
22.1.1/22.1.2 satisfaction surveys (services.jobs.config lists them and their defaults). Each instance
runs a `JobScheduler`; the store's ``job_runs`` table makes every slot run once across instances.
"""

from .config import DEFAULT_JOBS, JobsConfig, JobSpec
from .scheduler import TASKS, JobScheduler, RunReport, queue_messages

__all__ = ["DEFAULT_JOBS", "TASKS", "JobScheduler", "JobSpec", "JobsConfig", "RunReport", "queue_messages"]
