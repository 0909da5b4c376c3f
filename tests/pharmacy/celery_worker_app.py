"""The Celery app as the worker-crash test runs it: the project's app, with Redis giving an
unacknowledged message back after 2 s instead of an hour, so the replacement worker picks
up the task the killed one was running within the test's patience.

When ORDER_REASSIGN_PAUSE_FILE names an existing file, a reassignment stops right after it
reserved stock at the new pharmacy (nothing committed yet), touches `<file>.reached` and
waits until the file is removed, so the test can SIGKILL the worker at that point. The hook
lives here, in the test's worker, not in the domain code or the settings.
"""

import os
import time

from celery import signals

from cloudhospital.celery import app

app.conf.broker_transport_options = {"visibility_timeout": 2, "unacked_restore_interval": 1}

PAUSE_FILE = os.environ.get("ORDER_REASSIGN_PAUSE_FILE", "")


def _pause_here() -> None:
    if not PAUSE_FILE or not os.path.exists(PAUSE_FILE):
        return
    with open(f"{PAUSE_FILE}.reached", "w") as marker:
        marker.write(str(os.getpid()))
    deadline = time.monotonic() + 120
    while os.path.exists(PAUSE_FILE) and time.monotonic() < deadline:
        time.sleep(0.05)


@signals.worker_ready.connect
def _install_pause(**_):
    """Wrap the reservation step of a reassignment (Django is set up by now)."""
    from pharmacy.orders import reassignment

    reserve = reassignment.next_pharmacy_reserve

    def reserve_then_pause(order, *, items):
        chosen = reserve(order, items=items)
        _pause_here()
        return chosen

    reassignment.next_pharmacy_reserve = reserve_then_pause


__all__ = ["app"]
