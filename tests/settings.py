"""The settings the suite runs with: the project's own, on a developer's machine.

With no DEBUG in the environment the project's settings are production's and refuse to
load without SECRET_KEY and PRESCRIPTION_SIGNING_SECRET. The suite runs as `make test`
does, with DEBUG=1 unless the environment says otherwise; the servers and workers the
tests start inherit it.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "1")

from cloudhospital.settings import *  # noqa: E402,F401,F403

# The product's default language is Chinese; the suite asserts on the English messages, so
# it runs in English. tests/test_i18n.py overrides this back to zh-hans to prove the default.
LANGUAGE_CODE = "en"

# Uploaded files live in memory during the suite: no test writes into the working tree.
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}  # noqa: F405

# Tests seed the formulary they need (prescriptions.demo.seed); migration 0009 does not load it,
# so a transactional test's flush cannot make the drug table depend on test order.
FORMULARY_LOAD_ON_MIGRATE = False

# The regulator feed's local sink (cloudhospital.regulator): the suite's own file, not the one a
# developer's `make run` appends to. Tests that read it point it at their tmp_path.
REGULATOR_SINK_PATH = Path(tempfile.gettempdir()) / f"cloudhospital-test-regulator-feed-{os.getpid()}.jsonl"

# Every Django test client loads the middleware afresh, and WhiteNoise (with the finders, under
# the test runner's DEBUG=False) would stat all ~240 static files each time: ~33 ms per client,
# minutes over the suite. Autorefresh finds a static file when it is asked for instead.
WHITENOISE_AUTOREFRESH = True
