"""The app's OpenAPI schema for schemathesis, called in process over WSGI, and how hard
the fuzz tests try."""

import os
from contextlib import contextmanager

import schemathesis
from django.core import signals
from django.db import close_old_connections

from cloudhospital.wsgi import application


def fuzz_examples(default: int) -> int:
    """Examples per fuzzed operation: `default` in the everyday suite, more with
    FUZZ_EXAMPLES=500 for a deep run before a release (see README, Tests)."""
    return int(os.environ.get("FUZZ_EXAMPLES") or default)


@contextmanager
def in_process_schema():
    """The schema of the running app. Like Django's test client, it keeps the test's database
    connection (and its transaction) open across requests instead of closing it when each
    request finishes."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.from_wsgi("/api/schema/", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
