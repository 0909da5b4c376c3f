"""The suite-wide check that the schema tells the truth about refusals.

While the suite runs, every error answer the API gives is compared with the OpenAPI schema:
its status must be declared by the operation and its code must be in that status's enum.
An undeclared refusal fails the test that provoked it, naming the operation and the code,
so `@refuses(...)` on the view is where the fix goes (cloudhospital.api.refusals).
"""

import functools
import re

from drf_spectacular.generators import SchemaGenerator

CHECKED_STATUSES = {400, 403, 404, 409, 422}


@functools.cache
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def _operations() -> list[tuple[re.Pattern, str, dict]]:
    found = []
    for path, methods in schema()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for method, operation in methods.items():
            found.append((pattern, path.count("{"), method, operation))
    found.sort(key=lambda entry: entry[1])  # the most literal template first
    return [(pattern, method, operation) for pattern, _, method, operation in found]


def operation_for(path: str, method: str) -> dict | None:
    return next((operation for pattern, m, operation in _operations()
                 if m == method.lower() and pattern.match(path)), None)


def declared_codes(operation: dict, status: int) -> set[str] | None:
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    if "application/json" not in response.get("content", {}):
        return set()  # an answer without an error body (a file's 416 carries only Content-Range)
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    components = schema()["components"]["schemas"]
    item = components[ref]["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[-1]
    code = components[item]["properties"]["code"]
    return set(code.get("enum") or components[code["$ref"].rsplit("/", 1)[-1]]["enum"])


def undeclared(path: str, method: str, status: int, codes: list[str]) -> str | None:
    """Why this answer is not in the schema, or None when it is."""
    if status not in CHECKED_STATUSES or not path.startswith("/api/"):
        return None
    operation = operation_for(path, method)
    if operation is None:
        return None  # an unknown path: Django's 404, in the error shape
    allowed = declared_codes(operation, status)
    if allowed is None:
        return f"{method} {path} answered {status}, which its operation does not declare (codes {codes})"
    missing = sorted(set(codes) - allowed)
    if missing:
        return f"{method} {path} answered {status} with {missing}, not declared by {operation['operationId']}"
    return None


def note(file: str, path: str, method: str, status: int, codes: list[str]) -> None:
    """Append an answer to `file` (ERROR_CONTRACT_RECORD), to see what a suite run refused."""
    import json

    operation = operation_for(path, method) if path.startswith("/api/") else None
    with open(file, "a", encoding="utf-8") as out:
        out.write(json.dumps({"operation": operation and operation["operationId"], "status": status,
                              "codes": codes, "path": path, "method": method}) + "\n")
