"""Reading the API's one error shape in tests.

Every 4xx/5xx body is {"type": "validation_error" | "client_error" | "server_error",
"errors": [{"code": ..., "detail": ..., "attr": <field or null>}, ...]} (drf-standardized-errors,
with the domain's refusals mapped in cloudhospital.api.errors).
"""


def errors(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"type", "errors"}, f"not the error shape: {body}"
    return body["errors"]


def error_codes(response) -> list[str]:
    return [error["code"] for error in errors(response)]


def error_code(response) -> str:
    """The code of the first (for refusals, the only) error."""
    return errors(response)[0]["code"]


def error_detail(response) -> str:
    return errors(response)[0]["detail"]


def error_attrs(response) -> set[str | None]:
    """The fields named by the errors (None for an error about the whole request)."""
    return {error["attr"] for error in errors(response)}


def field_codes(response, attr: str) -> list[str]:
    return [error["code"] for error in errors(response) if error["attr"] == attr]


def field_details(response, attr: str) -> list[str]:
    """The messages for one field."""
    return [error["detail"] for error in errors(response) if error["attr"] == attr]
