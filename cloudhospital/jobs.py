"""Queueing background work from domain code without importing the tasks modules.

The direction is one way everywhere: a `tasks.py` imports the domain module it wraps, and
domain code names the task it wants run (its registered Celery name) instead of importing
it. The job leaves after the current transaction commits, so a rolled-back write queues
nothing.
"""

from django.db import transaction


def _task(name: str):
    from cloudhospital.celery import app

    if name not in app.tasks:
        # A web process has not imported the apps' tasks modules yet: let Celery's
        # autodiscovery import them (it does nothing the second time).
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue_on_commit(task_name: str, *args, robust: bool = False, **kwargs) -> None:
    """Queue Celery task `task_name` with these arguments once the transaction commits.

    `robust=True` logs a failure to queue instead of raising it, for jobs that a beat sweep
    catches up on anyway. An unknown task name fails now, before the write commits."""
    task = _task(task_name)

    def send():
        task.delay(*args, **kwargs)

    transaction.on_commit(send, robust=robust)
