"""The doctor's identity before each consult: admitting a patient behind a second factor.

互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult; no other person and
no software stands in for the doctor. The code checks and the freshness window are
cloudhospital.step_up; this module puts them in front of the admit verb, for every edge that
admits (the API, the room page, the signalling socket).
"""

from __future__ import annotations

from cloudhospital import step_up
from consult import consultation as consult_rules
from consult.models import Consultation


def consultation_admit_verified(*, by, consultation: Consultation, credential: str | None,
                                code: str | None = None, guardian_present: bool = False) -> Consultation:
    """Admit the waiting patient (consult.consultation.consultation_admit) once the doctor's
    identity is verified: 互联网诊疗监管细则（试行）, before each consult.

    When the doctor could admit now, this login must have proved its second factor within
    DOCTOR_REAUTH_WINDOW_MINUTES, or `code` (if given) is checked and recorded first. Someone
    who may not admit at all gets the admit verb's own refusal, not a request for a code.

    Errors: `second_factor_required` (403, at `otp`), `second_factor_not_enrolled`,
    `otp_invalid`, `otp_throttled`, and consultation_admit's."""
    if "admit" in consult_rules.consultation_allowed_actions(consultation, actor=by):
        step_up.fresh_or_verify(user=by, credential=credential, code=code)
    return consult_rules.consultation_admit(by=by, consultation=consultation, guardian_present=guardian_present)
