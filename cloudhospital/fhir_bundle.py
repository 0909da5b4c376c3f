"""FHIR collection Bundles with urn:uuid fullUrls, the one way every app packs its resources.

This API is no FHIR server: `Patient/12` resolves nowhere. So each entry's fullUrl is
`urn:uuid:<uuid5(NAMESPACE, "<type>/<id>")>`, and every literal reference `<type>/<id>`
inside the bundle is rewritten to the same urn. The urn is a function of the object alone, so
the same patient, encounter or prescription item has the same urn in every bundle (the
episode, a prescription, an order): a client that reads two bundles joins them on it.

Resources are built as plain dicts with relative references (`{"reference": "Patient/12"}`)
by each app; this module, which imports no app, turns them into a bundle and validates it with
fhir.resources (R4B, whose resources used here are the R4 ones) before it leaves.
"""

import json
import re
import uuid

from fhir.resources.R4B.bundle import Bundle

# Fixed forever: changing it changes every urn ever handed out.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cloudhospital:fhir")
LITERAL_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


def resource_urn(resource_type: str, resource_id: str) -> str:
    """The urn:uuid of one resource, the same in every bundle."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


def _urn_references(node):
    """`node` with every literal `<type>/<id>` reference turned into that resource's urn."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            match = LITERAL_REFERENCE.match(value) if key == "reference" and isinstance(value, str) else None
            out[key] = resource_urn(*match.groups()) if match else _urn_references(value)
        return out
    if isinstance(node, list):
        return [_urn_references(value) for value in node]
    return node


def collection_bundle(resources: list[dict], *, bundle_id: str, timestamp: str | None, **fields) -> dict:
    """A validated `collection` Bundle of `resources`, fullUrls and references as urn:uuid.
    `fields` are further Bundle elements (identifier, signature), references rewritten too."""
    entries = [{"fullUrl": resource_urn(r["resourceType"], r["id"]), "resource": _urn_references(r)} for r in resources]
    urls = [entry["fullUrl"] for entry in entries]
    if len(set(urls)) != len(urls):
        raise ValueError("two entries of one bundle are the same resource")  # FHIR bdl-7; our bug
    bundle = {"resourceType": "Bundle", "id": bundle_id, "type": "collection", **_urn_references(fields), "entry": entries}
    if timestamp:
        bundle["timestamp"] = timestamp
    return json.loads(Bundle.parse_obj(bundle).json())
