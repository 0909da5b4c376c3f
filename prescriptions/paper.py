"""What whoever holds a paper prescription may learn from it: the code printed in its QR,
and its status now in words.

The code is the prescription's id signed with the site's secret key (HMAC-SHA256 through
`django.core.signing`, with a salt of its own), so it cannot be guessed from an id or made
up: only the server issues one, and a changed character makes it unknown. It never
expires, as the paper does not; what the page shows about it (valid, status) is read now.
The page that reads it is the pharmacy app's (`pharmacy.verify_pages`), which may show a
dispensing pharmacy more; the print page finds it by URL name.
"""

from django.core import signing
from django.utils.translation import gettext_lazy as _

from cloudhospital.errors import DomainError
from cloudhospital.languages import in_language
from prescriptions.checks import FREQUENCIES
from prescriptions.lifecycle import LIVE_STATUSES, prescription_check_valid
from prescriptions.models import PrescriptionStatus as S

SALT = "prescriptions.paper-verify-code"
# URL-safe: the signature is base64url, so a dot separates it from the id.
_SIGNER = signing.Signer(salt=SALT, sep=".")


def verify_code(prescription) -> str:
    """The code for `prescription`'s QR: "<id>.<signature>"."""
    return _SIGNER.sign(str(prescription.pk))


def prescription_id_from_code(code: str) -> int | None:
    """The prescription id a code was issued for, or None when it was not issued here
    (tampered, truncated, made up)."""
    if not isinstance(code, str) or len(code) > 100:
        return None
    try:
        value = _SIGNER.unsign(code)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


STATUS_LABELS = {
    S.DRAFT: _("Not signed (a draft; not valid for dispensing)"),
    S.CONFIRMING: _("Signed, awaiting the patient's confirmation (long-term prescription)"),
    S.SIGNED: _("Signed, awaiting pharmacist review"),
    S.APPROVED: _("Approved by the review pharmacist"),
    S.REJECTED: _("Rejected by the review pharmacist"),
    S.DISPENSED: _("Dispensed"),
    S.EXPIRED: _("Expired"),
    S.VOIDED: _("Void (withdrawn by the doctor)"),
}


def status_now(prescription) -> str:
    """The status as it stands now: a live prescription past its validity is expired even
    before the expiry task has run (the clock decides, as in lifecycle)."""
    if prescription.status in LIVE_STATUSES:
        try:
            prescription_check_valid(prescription)
        except DomainError:
            return S.EXPIRED
    return prescription.status


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def frequency_label(code: str) -> str:
    """How often, in words of the active language ("每日两次" / "twice daily")."""
    frequency = FREQUENCIES.get(code)
    return in_language(frequency.label_zh, frequency.label) if frequency else code


SEX_LABELS = {"male": _("Male"), "female": _("Female")}


def sex_label(code: str) -> str:
    return SEX_LABELS.get(code, code)
