"""A real browser call: two headless Chromium contexts connect over WebRTC through the pages.

Runs tests/e2e/video_call.py inside a loopback-only network namespace (`unshare -n`), so
WebRTC traffic stays on 127.0.0.1 and no packet can leave the machine.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _namespace_available() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True)
    return probe.returncode == 0


def _playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
@pytest.mark.skipif(not _playwright_available(), reason="the playwright package is not installed")
@pytest.mark.skipif(not _namespace_available(), reason="cannot create a loopback-only network namespace here (unshare -n)")
def test_patient_and_doctor_connect_a_real_video_call_in_chromium():
    script = ROOT / "tests" / "e2e" / "video_call.py"
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", f'ip link set lo up && exec "{sys.executable}" "{script}"'],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    for side in ("doctor", "family"):
        assert seen[side]["state"] == "connected"
        assert seen[side]["frames"] > 10, "the remote video element must be receiving frames"
        assert seen[side]["width"] > 0
    assert "waiting room" in seen["family_status_waiting"]
    assert "ended" in seen["family_status_end"]
