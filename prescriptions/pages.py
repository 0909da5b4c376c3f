"""The printable prescription (A5, Chinese), for patients who want paper.

Session login and the same visibility as the API (prescriptions_visible_to), so a foreign
id is a 404. The QR code carries the link to the paper verify page with the prescription's
unguessable code (prescriptions.paper), which anyone holding the paper may open without
logging in; that page is the pharmacy app's, found here by URL name only. The QR is drawn
inline as SVG: the page needs nothing from elsewhere to print.
"""

import qrcode
import qrcode.image.svg
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from prescriptions.checks import FREQUENCIES
from prescriptions.lifecycle import prescription_verify
from prescriptions.rules import review_verify
from prescriptions.paper import verify_code
from prescriptions.permissions import prescriptions_visible_to
from cloudhospital.errors import DomainError
from prescriptions.selectors import prescription_for, prescriptions_for_display

STATUS_ZH = {
    "draft": "草稿（未签名，不可用于取药）", "signed": "已签名，待药师审核", "approved": "药师审核通过",
    "rejected": "药师审核未通过", "dispensed": "已发药", "expired": "已过期", "voided": "已作废",
    "confirming": "已签名，待患者确认（长期处方）",
}


# The paper verify page (pharmacy.verify_pages), resolved at run time by name.
PAPER_VERIFY_URL_NAME = "prescription-paper-verify"


def paper_verify_url(request, prescription) -> str:
    """The absolute link the QR carries, or "" when no verify page is installed."""
    try:
        path = reverse(PAPER_VERIFY_URL_NAME, kwargs={"code": verify_code(prescription)})
    except NoReverseMatch:
        return ""
    return request.build_absolute_uri(path)


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=6, border=1)
    return image.to_string(encoding="unicode")


@login_required
def prescription_print(request, prescription_id: int):
    try:
        prescription = prescription_for(request.user, prescription_id, purpose="prescription_print",
                                        queryset=prescriptions_for_display(prescriptions_visible_to(request.user)))
    except DomainError:
        raise Http404("No such prescription.") from None
    verify_url = paper_verify_url(request, prescription) if prescription.signature else ""
    valid, reason = prescription_verify(prescription) if prescription.signature else (False, "")
    review_valid, review_reason = review_verify(prescription) if prescription.review_signature else (False, "")
    items = [
        {"item": item, "frequency": FREQUENCIES[item.frequency].label_zh if item.frequency in FREQUENCIES else item.frequency}
        for item in prescription.items.all()
    ]
    profile = getattr(prescription.doctor, "doctor_profile", None)
    context = {
        "rx": prescription,
        "items": items,
        "patient": prescription.patient,
        "hospital": profile.hospital.name if profile else "",
        "status_zh": STATUS_ZH.get(prescription.status, prescription.status),
        "verify_url": verify_url,
        "valid": valid,
        "verify_reason": reason,
        "review_valid": review_valid,
        "review_verify_reason": review_reason,
        "qr": mark_safe(qr_svg(verify_url)) if verify_url else "",
    }
    return render(request, "prescriptions/print.html", context)
