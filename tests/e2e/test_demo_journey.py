"""`make demo` runs: Zhang Lin's whole day through the public API against a fresh server.

With DATABASE_URL and REDIS_URL set (as in CI) the script runs on PostgreSQL and Redis with a
real Celery worker; otherwise on the embedded default.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_make_demo_runs_zhang_lins_day_end_to_end():
    result = subprocess.run([sys.executable, "demo/zhang_lin.py"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    for milestone in ("registers", "dependant", "高血压云诊室", "checks him in", "the call is set up",
                      "renal", "signature verifies: True", "consultation ended", "approved", "Zhang Lin's day is complete."):
        assert milestone in out, f"missing {milestone!r} in the demo output"
    for step in ("syncs its stock", "verifies the signature", "out for delivery", "delivered to Zhang Lin's home"):
        assert step in out, f"missing {step!r} in the demo output"
    assert "prescription #1: dispensed" in out and "delivered (delivery)" in out
    assert "FHIR episode:" in out and "MedicationRequest" in out and "MedicationDispense" in out
    assert "references resolve inside the bundle" in out
