"""The Celery app as the worker-crash test runs it: the project's app, with Redis giving an
unacknowledged message back after 2 s instead of an hour, so the replacement worker picks
up the task the killed one was running within the test's patience."""

from cloudhospital.celery import app

app.conf.broker_transport_options = {"visibility_timeout": 2, "unacked_restore_interval": 1}

__all__ = ["app"]
