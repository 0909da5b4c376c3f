"""Request and response examples for the main flows, shown in the schema (Swagger "Examples").

They are Zhang Lin's day: his daughter registers, adds him, books the 高血压云诊室, checks him
in; Dr. Chen prescribes and signs; the family orders delivery; the pharmacy accepts. The bodies
in flow_examples.json were captured from `demo/zhang_lin.py` against the embedded default
(token and password replaced), so they are what the API really answers; rerun the capture when
a serializer changes. tests/test_schema_examples.py validates each one against the schema it
illustrates, so an example cannot drift from the contract unnoticed.
"""

import json
from pathlib import Path

from drf_spectacular.utils import OpenApiExample

FLOWS = json.loads((Path(__file__).with_name("flow_examples.json")).read_text(encoding="utf-8"))


def flow(name: str, summary: str, *extra: OpenApiExample) -> list[OpenApiExample]:
    """The captured request (when the flow has a body) and response of one step, plus extras."""
    captured = FLOWS[name]
    examples = []
    if captured["request"]:
        examples.append(OpenApiExample(summary, value=captured["request"], request_only=True))
    examples.append(OpenApiExample(summary, value=captured["response"], response_only=True,
                                   status_codes=[str(captured["status"])]))
    return examples + list(extra)


REGISTER = flow("register", "Zhang Wei registers")
LOGIN = flow("login", "Dr. Chen logs in with the phone as printed")
DEPENDANT_ADD = flow("dependant_add", "Zhang Wei adds her father, Zhang Lin")
BOOKING_CREATE = flow("booking_create", "Book the hypertension clinic for Zhang Lin")
BOOKING_CHECK_IN = flow("booking_check_in", "Check Zhang Lin in to the waiting room")
PRESCRIPTION_CREATE = flow("prescription_create", "Amlodipine for Zhang Lin")
PRESCRIPTION_SIGN = flow(
    "prescription_sign", "Sign with no warnings",
    OpenApiExample("Sign over a warning, with the reason", request_only=True, value={
        "overrides": {"renal_dose:0": "eGFR 48 稳定，剂量已按肾功能调整，监测血肌酐"},
    }, description="Every warning's `key` from the findings needs a written reason."),
)
ORDER_CREATE = flow(
    "order_create", "Deliver home",
    OpenApiExample("Pick up at the nearest pharmacy that has it", request_only=True,
                   value={"prescription": 1, "kind": "pickup", "pharmacy": 1}),
)
PHARMACY_ACCEPT = flow("pharmacy_accept", "The pharmacy accepts the order")
