"""Reading FHIR bundles in tests."""


def references(node, found=None) -> list[str]:
    """Every `reference` string anywhere in a FHIR resource or bundle."""
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                references(value, found)
    elif isinstance(node, list):
        for value in node:
            references(value, found)
    return found
