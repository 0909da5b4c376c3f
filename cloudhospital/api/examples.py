"""Request and response examples for the main flows, shown in the schema (Swagger "Examples").

They are Zhang Lin's day (README): his daughter registers, adds him, books the 高血压云诊室,
checks in; Dr. Chen prescribes and signs; the family orders; the pharmacy accepts.
tests/test_schema_examples.py validates each one against the schema it illustrates, so an
example cannot drift from the contract.
"""

from drf_spectacular.utils import OpenApiExample


def request(name: str, value: dict, summary: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, summary=summary or name, request_only=True)


def response(name: str, value: dict, status: int = 200, summary: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, summary=summary or name, response_only=True, status_codes=[str(status)])


REGISTER = [request("Zhang Wei registers", {
    "full_name": "张薇", "id_number": "330203197805120027", "phone": "13900000001",
    "password": "Ningbo-2026-cloud", "address": "浙江省宁波市海曙区中山西路 1 号",
})]
LOGIN = [request("Log in with the phone as printed", {"phone": "13900000001", "password": "Ningbo-2026-cloud"})]
DEPENDANT_ADD = [request("Add her father, Zhang Lin", {
    "full_name": "张林", "id_number": "330203194203150016", "relationship": "child",
    "phone": "", "address": "浙江省宁波市海曙区中山西路 1 号",
}, summary="`relationship` is what you are to the patient: here his child")]
BOOKING_CREATE = [request("Book the hypertension clinic for Zhang Lin", {
    "patient": 2, "slot": 41, "reason": "高血压复诊开药，近一周血压 150/90 左右",
})]
PRESCRIPTION_CREATE = [request("Amlodipine for Zhang Lin", {
    "consultation": 7,
    "diagnosis": [{"code": "I10", "name": "原发性高血压"}, {"code": "N18.3", "name": "慢性肾脏病 3 期"}],
    "long_term": True,
    "notes": "低盐饮食，每日家庭自测血压",
    "items": [{"drug": "AMLO-T5", "dose": "5", "dose_unit": "mg", "frequency": "qd", "route": "oral",
               "days_supply": 30, "quantity": 30}],
})]
PRESCRIPTION_SIGN = [
    request("Sign with no warnings", {"overrides": {}}),
    request("Sign over a warning, with the reason", {
        "overrides": {"renal_dose:0": "eGFR 48 稳定，剂量已按肾功能调整，监测血肌酐"},
    }, summary="Every warning's `key` from the findings needs a written reason"),
]
ORDER_CREATE = [
    request("Deliver home", {
        "prescription": 12, "kind": "delivery", "lat": 29.8683, "lng": 121.5440,
        "address": "浙江省宁波市海曙区中山西路 1 号", "contact_name": "张薇", "contact_phone": "13900000001",
    }),
    request("Pick up at the nearest pharmacy that has it", {"prescription": 12, "kind": "pickup", "pharmacy": 3}),
]
