"""The notification sender of the fault tests' servers and workers: each delivery appends
the notification's key to FAULT_SENT_FILE, so a test counts what really went out. While
FAULT_PAUSE_FILE exists a delivery stops before it sends (after touching `<file>.reached`),
so a test can kill the worker in the middle of an effect."""

import os
import time


class FileSender:
    def send(self, notification, recipients) -> None:
        pause = os.environ.get("FAULT_PAUSE_FILE", "")
        if pause and os.path.exists(pause):
            with open(f"{pause}.reached", "w") as marker:
                marker.write(str(os.getpid()))
            deadline = time.monotonic() + 120
            while os.path.exists(pause) and time.monotonic() < deadline:
                time.sleep(0.05)
        with open(os.environ["FAULT_SENT_FILE"], "a") as sent:
            sent.write(f"{notification.key}\n")
