"""Recording a real call in Chromium (fake camera and microphone): the family and the doctor
both consent in the room, the doctor's browser records a few seconds of the call and uploads
it in chunks; the family then finds the recording on the visit summary, and the stored file
plays: the <video> reports a finite duration > 0 (a MediaRecorder WebM says Infinity until
the player has seen its end; the page seeks there and back) and its time advances."""

import json
import os
import shutil
import subprocess

import pytest
from django.core.files.storage import default_storage

from cloudhospital.models import AccessLog
from consult import consultation as consult_rules
from consult.models import ConsultRecording, RecordingStatus
from tests.consult.rooms import make_room
from tests.e2e.browser import CHROMIUM, assert_accessible, log_in, needs_browser, screenshot
from tests.e2e.video_call import CHROMIUM_ARGS

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def media_browser():
    """Chromium with a fake camera and microphone (tests/e2e/video_call.py's arguments), for
    this module; DJANGO_ALLOW_ASYNC_UNSAFE as tests/e2e/browser.py sets it, for the module only."""
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def page_for(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.viewport_name = "desktop"
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_a_consented_call_is_recorded_uploaded_and_plays_back(asgi_server, media_browser, settings):
    settings.ICE_STUN_URLS = []  # host candidates only: the call stays on this machine
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    room_url = f"{asgi_server}/consult/{room.consultation.pk}/"
    family, doctor = page_for(media_browser), page_for(media_browser)
    try:
        # The daughter joins and consents for her father; the doctor sees it, and consents.
        log_in(family, asgi_server, room.proxy.phone)
        family.goto(room_url)
        family.wait_for_function("window.consult && window.consult.ws && window.consult.ws.readyState === 1")
        family.click("#recording-consent")
        family.wait_for_selector("#recording-consent-family[data-consented=true]")
        log_in(doctor, asgi_server, room.doctor_user.phone)
        doctor.goto(room_url)
        doctor.wait_for_selector("#recording-consent-family[data-consented=true]")
        assert room.proxy.full_name in doctor.text_content("#recording-consent-family")
        doctor.click("#recording-consent")
        # The family's panel hears the doctor's consent over the socket.
        family.wait_for_selector("#recording-consent-doctor[data-consented=true]")

        connected = "window.consult.connectionState === 'connected' && window.consult.framesReceived > 10"
        doctor.wait_for_function(connected, timeout=30_000)
        family.wait_for_function(connected, timeout=30_000)
        # A few seconds of the call: at least two chunks uploaded.
        doctor.wait_for_function("window.consultRecording.status === 'recording' && window.consultRecording.uploaded >= 2",
                                 timeout=30_000)
        # Recording has started: the family's panel no longer offers to withdraw.
        family.wait_for_selector("#recording-withdraw", state="detached")
        assert_accessible(doctor)
        screenshot(doctor, "recording-room")
        doctor.click("#end")
        doctor.wait_for_function("window.consultRecording.status === 'complete'", timeout=30_000)
        assert not doctor.evaluate("window.consultRecording.error")
        family.wait_for_function("window.consult.ended === true")
    finally:
        doctor.context.close()

    recording = ConsultRecording.objects.get(consultation=room.consultation)
    assert recording.status == RecordingStatus.COMPLETE and recording.chunk_count >= 2
    assert recording.size_bytes > 10_000 and recording.duration_ms > 2000
    assert default_storage.size(recording.file.name) == recording.size_bytes
    _probe(recording)

    # The family finds it on the visit summary and watches it: the stored file plays.
    try:
        family.goto(f"{asgi_server}/patient/visits/{room.booking.pk}/")
        family.click(f"a[data-recording='{recording.pk}']")
        family.wait_for_selector("#playback")
        family.wait_for_function("(() => { const v = document.getElementById('playback');"
                                 " return Number.isFinite(v.duration) && v.duration > 0 && v.currentTime === 0; })()",
                                 timeout=20_000)
        seen = family.evaluate("""async () => {
            const v = document.getElementById('playback');
            v.muted = true;
            await v.play();
            await new Promise((resolve) => setTimeout(resolve, 1500));
            return {duration: v.duration, time: v.currentTime, width: v.videoWidth, error: v.error && v.error.code,
                    audio: v.webkitAudioDecodedByteCount};
        }""")
        assert seen["duration"] > 1 and seen["time"] > 0.3 and seen["width"] > 0 and seen["error"] is None, seen
        assert seen["audio"] > 0, "the recording carries the mixed voices"
        assert_accessible(family)
        screenshot(family, "recording-playback")
    finally:
        family.context.close()
    assert list(AccessLog.objects.filter(action="recording_playback").values_list("user", flat=True)) == [room.proxy.pk]


def _probe(recording) -> None:
    """With Debian's ffmpeg installed, ffprobe reads the stored file too (a video and an
    audio stream); without it the browser's playback above is the proof."""
    if not shutil.which("ffprobe"):
        return
    with default_storage.open(recording.file.name) as stored:
        data = stored.read()
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", "-"], input=data,
                           capture_output=True, timeout=60)
    assert probe.returncode == 0, probe.stderr.decode()[-2000:]
    kinds = sorted(stream["codec_type"] for stream in json.loads(probe.stdout)["streams"])
    assert kinds == ["audio", "video"], kinds
