"""The FHIR endpoints as FHIR clients expect them: application/fhir+json (Accept and
_format, 406 otherwise), urn:uuid fullUrls and references, UCUM doses, coded allergies."""

from decimal import Decimal

import pytest
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cloudhospital.fhir_bundle import collection_bundle, resource_urn
from prescriptions import checks, fhir as prescriptions_fhir
from prescriptions.formulary import FORMULARY
from tests.api_errors import error_code
from tests.factories import AllergyFactory, PharmacyFactory, StockFactory, UserFactory
from tests.episode.fhir_helpers import references

FHIR = "application/fhir+json"


@pytest.fixture
def endpoints(room, write):
    """The three FHIR endpoints, each with a client that may read it: the episode, a signed
    and approved prescription, and an order for it."""
    from pharmacy import orders
    from prescriptions import lifecycle

    prescription = write(sign=True)
    lifecycle.prescription_approve(by=UserFactory(role="pharmacist"), prescription=prescription)
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=prescription.items.get().drug, on_hand=100)
    order = orders.order_place(by=room.proxy, prescription=prescription, kind="pickup", pharmacy=pharmacy)
    return {
        "episode": f"/api/patients/{room.patient.pk}/fhir/",
        "prescription": f"/api/prescriptions/{prescription.pk}/fhir/",
        "order": f"/api/orders/{order.pk}/fhir/",
    }


def content_type(response) -> str:
    return response["Content-Type"].split(";")[0]


# --- Content negotiation --------------------------------------------------------------------

@pytest.mark.parametrize("which", ["episode", "prescription", "order"])
def test_fhir_json_is_what_the_endpoints_answer_with_and_accept(client_for, room, endpoints, which):
    client = client_for(room.proxy)
    url = endpoints[which]
    for headers in ({}, {"HTTP_ACCEPT": FHIR}, {"HTTP_ACCEPT": "*/*"}, {"HTTP_ACCEPT": f"{FHIR}, application/json;q=0.5"}):
        response = client.get(url, **headers)
        assert response.status_code == 200, (headers, response.content[:300])
        assert content_type(response) == FHIR
        Bundle.parse_obj(response.json())
    plain = client.get(url, HTTP_ACCEPT="application/json")
    assert plain.status_code == 200 and content_type(plain) == "application/json"
    assert plain.json()["entry"] == client.get(url).json()["entry"]


@pytest.mark.parametrize("value", ["json", "application/json", "application%2Ffhir%2Bjson", "application/fhir+json"])
@pytest.mark.parametrize("which", ["episode", "prescription", "order"])
def test_format_parameter_means_fhir_json_and_wins_over_accept(client_for, room, endpoints, which, value):
    # An unescaped "+" arrives as a space, as on any FHIR server; it is read as meant.
    response = client_for(room.proxy).get(f"{endpoints[which]}?_format={value}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200, response.content[:300]
    assert content_type(response) == FHIR and response.json()["resourceType"] == "Bundle"


@pytest.mark.parametrize("which", ["episode", "prescription", "order"])
def test_an_unknown_format_or_accept_is_406_in_the_api_error_shape(client_for, room, endpoints, which):
    client = client_for(room.proxy)
    for response in (client.get(f"{endpoints[which]}?_format=xml"),
                     client.get(f"{endpoints[which]}?_format=application/fhir%2Bxml"),
                     client.get(endpoints[which], HTTP_ACCEPT="application/fhir+xml")):
        assert response.status_code == 406
        assert content_type(response) == "application/json"  # an error is no FHIR resource
        assert error_code(response) == "not_acceptable"


def test_the_schema_lists_fhir_json_and_the_format_parameter(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in ("/api/patients/{patient_pk}/fhir/", "/api/prescriptions/{id}/fhir/", "/api/orders/{id}/fhir/"):
        operation = schema["paths"][path]["get"]
        assert FHIR in operation["responses"]["200"]["content"], path
        assert "application/json" in operation["responses"]["200"]["content"], path
        assert "_format" in [p["name"] for p in operation["parameters"]], path


# --- urn:uuid ---------------------------------------------------------------------------------

def test_full_urls_and_references_are_the_same_urn_uuid_in_every_bundle(client_for, room, endpoints):
    client = client_for(room.proxy)
    bundles = {which: client.get(url).json() for which, url in endpoints.items()}
    urls = {}
    for which, bundle in bundles.items():
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert entry["fullUrl"].startswith("urn:uuid:") and "/fhir/" not in entry["fullUrl"]
            assert entry["fullUrl"] == resource_urn(resource["resourceType"], resource["id"])
            urls[(resource["resourceType"], resource["id"])] = entry["fullUrl"]
        assert all(ref.startswith("urn:uuid:") for ref in references(bundle, [])), which
    episode = bundles["episode"]
    present = {entry["fullUrl"] for entry in episode["entry"]}
    assert set(references(episode["entry"], [])) <= present  # every reference resolves inside it
    # The prescription's request and the order's dispense name the patient and the request by
    # the urns the episode gives them.
    request = bundles["prescription"]["entry"][0]["resource"]
    dispense = bundles["order"]["entry"][0]["resource"]
    patient_urn = urls[("Patient", str(room.patient.pk))]
    assert request["subject"]["reference"] == patient_urn == dispense["subject"]["reference"]
    assert bundles["prescription"]["entry"][0]["fullUrl"] in present
    assert dispense["authorizingPrescription"][0]["reference"] == bundles["prescription"]["entry"][0]["fullUrl"]
    assert bundles["prescription"]["signature"]["who"]["reference"] == request["requester"]["reference"]
    # Deterministic: asked again, the same urns.
    again = client.get(endpoints["episode"]).json()
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in episode["entry"]]


def test_a_bundle_refuses_the_same_resource_twice():
    patient = {"resourceType": "Patient", "id": "1"}
    with pytest.raises(ValueError):
        collection_bundle([patient, dict(patient)], bundle_id="b", timestamp=None)


# --- UCUM doses -------------------------------------------------------------------------------

def test_every_dose_unit_the_checks_accept_has_a_ucum_code():
    units = set(checks.MASS_IN_MG) | set(checks.DOSAGE_UNITS) | {entry["strength_unit"] for entry in FORMULARY}
    for unit in units:
        quantity = prescriptions_fhir.dose_quantity(Decimal("2.50"), unit)
        assert quantity == {"value": 2.5, "unit": unit, "system": "http://unitsofmeasure.org",
                            "code": prescriptions_fhir.UCUM_DOSE_UNITS[unit.lower()]}, unit
    assert prescriptions_fhir.dose_quantity(Decimal(5), "mcg")["code"] == "ug"
    assert prescriptions_fhir.dose_quantity(Decimal(1), "片")["code"] == "{tbl}"
    assert prescriptions_fhir.dose_quantity(Decimal(10), "mL")["code"] == "mL"
    assert prescriptions_fhir.dose_quantity(Decimal(1), "sachet") == {"value": 1, "unit": "sachet"}  # not guessed


def test_medication_request_doses_are_ucum_coded(doctor_client, room, write, line):
    prescription = write(line("AMLO-T5", 5), line("LOSA-T50", 1, unit="tablet"))
    bundle = doctor_client.get(f"/api/prescriptions/{prescription.pk}/fhir/").json()
    doses = [e["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] for e in bundle["entry"]]
    assert doses == [
        {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        {"value": 1, "unit": "tablet", "system": "http://unitsofmeasure.org", "code": "{tbl}"},
    ]
    for entry in bundle["entry"]:
        MedicationRequest.parse_obj(entry["resource"])


@pytest.fixture
def doctor_client(room, client_for):
    return client_for(room.doctor_user)


# --- Coded allergies --------------------------------------------------------------------------

def _allergies(client, room) -> dict[str, dict]:
    bundle = client.get(f"/api/patients/{room.patient.pk}/fhir/").json()
    found = {}
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "AllergyIntolerance":
            AllergyIntolerance.parse_obj(entry["resource"])
            found[entry["resource"]["code"]["text"]] = entry["resource"]["code"]
    return found


def test_allergies_are_coded_with_the_formulary_drug_or_class_by_the_checks_rule(client_for, room, formulary):
    for substance, category in (("氨氯地平 amlodipine", "drug"), ("Sulfonamides 磺胺类", "drug_class"),
                                ("NSAIDs", "drug_class"), ("Penicillin", "drug"), ("花生 peanut", "food"),
                                ("Aspirin 阿司匹林", "drug")):
        AllergyFactory(patient=room.patient, substance=substance, category=category)
    codes = _allergies(client_for(room.proxy), room)
    assert codes["氨氯地平 amlodipine"]["coding"] == [
        {"system": "urn:cloudhospital:formulary", "code": "AMLO-T5", "display": formulary["AMLO-T5"].generic_name},
        {"system": "http://www.whocc.no/atc", "code": "C08CA01"},
    ]
    assert codes["Sulfonamides 磺胺类"]["coding"] == [
        {"system": "urn:cloudhospital:drug-class", "code": "sulfonamide", "display": "sulfonamide group"}]
    assert [c["code"] for c in codes["NSAIDs"]["coding"]] == ["nsaid"]
    # Penicillin names the penicillin class since the formulary has penicillins (issue 16).
    assert [c["code"] for c in codes["Penicillin"]["coding"]] == ["penicillin"]
    assert "coding" not in codes["花生 peanut"]  # free text stays text
    # A drug named is coded as that drug (the formulary's aspirin), not as its class.
    aspirin = codes["Aspirin 阿司匹林"]["coding"]
    assert {c["system"] for c in aspirin} == {"urn:cloudhospital:formulary", "http://www.whocc.no/atc"}
    # What is coded is what the safety checks block: the same rule.
    for text, code in codes.items():
        drugs = [formulary[c["code"]] for c in code.get("coding", []) if c["system"] == "urn:cloudhospital:formulary"]
        facts = checks.PatientFacts(allergies=(checks.AllergyFact(text, "drug"),))
        for drug in drugs:
            item = checks.ItemInput(position=1, drug=drug, dose=drug.strength, dose_unit=drug.strength_unit,
                                    frequency="qd", days_supply=7, quantity=7)
            assert [f.code for f in checks.check_allergies(facts, [item])] == ["allergy"], (text, drug.code)


def test_a_food_allergy_naming_a_drug_word_is_not_coded_as_a_drug(db, formulary):
    assert prescriptions_fhir.allergy_codings("阿司匹林 aspirin", "food", formulary.values()) == []
