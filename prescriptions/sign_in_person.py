"""Signing in person: the doctor's second factor in the very request that signs.

互联网诊疗监管细则（试行）: a prescription is issued by the consulting doctor personally and may not
be generated automatically. A token (or a session) alone therefore cannot sign: each signature
needs a fresh code from the doctor's authenticator (cloudhospital.step_up.require_code), which
django-otp accepts once. The API's sign action and the prescribing panel both call
`prescription_sign_in_person`; nothing else signs on a person's behalf.
"""

from __future__ import annotations

from collections.abc import Mapping

from cloudhospital import step_up
from prescriptions import checks, lifecycle
from prescriptions.models import Prescription


def prescription_sign_in_person(*, by, prescription: Prescription, overrides: Mapping[str, str] | None,
                                credential: str | None, code: str | None) -> lifecycle.Saved:
    """Sign (prescriptions.lifecycle.prescription_sign) once `code` proves the doctor's second
    factor. The checks a code cannot change run first — whether this person may sign this
    prescription now, the safety blocks, the warnings' reasons — so a code is not spent on a
    signature that would be refused anyway; prescription_sign then runs them all again.

    Errors: `otp_required`, `otp_invalid`, `otp_throttled`, `second_factor_not_enrolled` (at
    `otp`), and prescription_sign's."""
    if "sign" in lifecycle.prescription_allowed_actions(prescription, actor=by):
        if isinstance(overrides, Mapping) or overrides is None:
            checks.overrides_validate(findings=lifecycle.prescription_findings(prescription), reasons=overrides or {})
        step_up.require_code(user=by, credential=credential, code=code)
    return lifecycle.prescription_sign(by=by, prescription=prescription, overrides=overrides)
