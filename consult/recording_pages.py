"""Pages of consult recordings: the consent panel of the room (and of the family's visit
summary) and the playback page (its file comes from the API, consult.api.recordings).

Thin: consent goes through consult.recording, playback through consult.recording's
`recording_playback` (the read and its access-log row are one call), and the file is served
only with the ticket that playback issued (`GET /api/recordings/{id}/file/`). The recorder
itself is plain JavaScript (static/consult/recording.js) over the API.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cloudhospital.errors import DomainError
from consult import recording as recording_rules
from consult.models import ConsultationStatus, RecordingSide
from consult.permissions import consultation_role, consultations_visible_to


def recording_labels() -> dict:
    """The words recording.js shows, in the page's language."""
    return {
        "starting": _("Both sides consented: recording starts with the call."),
        "recording": _("Recording this consultation…"),
        "saving": _("Saving the recording…"),
        "saved": _("Recording saved."),
        "failed": _("The recording could not be saved: %(error)s"),
        "unsupported": _("This browser cannot record the call."),
    }


def _panel(request, consultation, *, error: str = "", status: int = 200):
    role = consultation_role(request.user, consultation)
    side = RecordingSide.DOCTOR if role == "doctor" else RecordingSide.FAMILY
    state = recording_rules.recording_state(consultation)
    mine = state["consent"][side]
    open_ = consultation.status != ConsultationStatus.ENDED
    return render(request, "consult/recording/_panel.html", {
        "consultation": consultation, "role": role, "state": state, "mine": mine,
        "other": state["consent"][RecordingSide.FAMILY if side == RecordingSide.DOCTOR else RecordingSide.DOCTOR],
        "may_consent": open_ and mine is None,
        "may_withdraw": mine is not None and state["recording"] is None,
        "recordings": recording_rules.recordings_of(request.user, consultation),
        "error": error, "labels": recording_labels(),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def recording_panel(request, consultation_id: int):
    """Consent to recording (htmx fragment): each side sees whether the other consented, and
    gives or withdraws its own; then the recordings it may play. Participants only (404)."""
    consultation = get_object_or_404(
        consultations_visible_to(request.user).select_related("booking__slot__doctor__user", "booking__patient"),
        pk=consultation_id)
    if request.method == "GET":
        return _panel(request, consultation)
    verb = {"consent": recording_rules.recording_consent_give,
            "withdraw": recording_rules.recording_consent_revoke}.get(request.POST.get("action"))
    if verb is None:
        return _panel(request, consultation, error=_("Choose to consent or to withdraw."), status=400)
    try:
        verb(by=request.user, consultation=consultation)
    except DomainError as exc:
        return _panel(request, consultation, error=exc.message, status=409)
    return _panel(request, consultation)


@login_required
@require_GET
def recording_playback_page(request, recording_id: int):
    """Play a recording: for the treating doctor, the patient and their proxies; each opening
    of this page is one logged playback (consult.recording.recording_playback)."""
    try:
        recording, ticket = recording_rules.recording_playback(request.user, recording_id)
    except DomainError:
        raise Http404("No such recording.") from None
    booking = recording.consultation.booking
    return render(request, "consult/recording/playback.html", {
        "recording": recording, "booking": booking, "doctor": booking.slot.doctor,
        "media_url": f"{reverse('recording-file', args=[recording.pk])}?ticket={ticket}",
        "duration_s": round((recording.duration_ms or 0) / 1000),
    })
