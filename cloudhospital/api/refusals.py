"""Which refusals an API operation can answer with, declared next to the view and checked
against the domain code that raises them.

The domain raises `DomainError(message, code=..., field=..., kind=...)` in plain functions; the
kind decides the HTTP status (cloudhospital.api.errors.HTTP_STATUS). The catalogue below is read
from the source of the domain packages, so it never drifts from what is raised: every literal
`code=` of a DomainError (and of the helpers that build one: `forbidden`, `require`, a module's
`_invalid`), with its kind, field and message. A view declares the codes each operation can
answer with:

    @refuses("slot_full", "follow_up_only", "beyond_booking_window")
    def create(self, request): ...

and the schema (cloudhospital.api.schema) lists them per status, each with an example.
tests/test_error_contract.py fails when a raised code is declared by no operation, when an
operation declares a code nobody raises, and when a request in the suite answers with a code
its operation did not declare.
"""

import ast
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from cloudhospital.errors import Kind

DOMAIN_PACKAGES = ("cloudhospital", "consult", "prescriptions", "pharmacy")
# Calls that build a DomainError of a fixed kind with a `code=` (besides DomainError itself).
FIXED_KIND_HELPERS = {"forbidden": Kind.FORBIDDEN, "require": Kind.FORBIDDEN}


@dataclass
class Refusal:
    code: str
    kind: Kind
    message: str
    fields: set[str | None] = field(default_factory=set)
    where: set[str] = field(default_factory=set)

    @property
    def is_pattern(self) -> bool:
        return "{" in self.code

    def matches(self, code: str) -> bool:
        if not self.is_pattern:
            return code == self.code
        return re.fullmatch(re.sub(r"\\\{[^}]*\\\}", r"[a-z0-9_]+", re.escape(self.code)), code) is not None


def refuses(*codes: str):
    """Declare the domain refusal codes a view method (or every method of a view class) can
    answer with. Generic codes (validation, 401, 404, 405, 429 ...) need no declaration."""

    def mark(target):
        target.refusal_codes = tuple(getattr(target, "refusal_codes", ())) + codes
        return target

    return mark


def declared_codes(view, method: str) -> tuple[str, ...]:
    """The codes declared on the handler of this operation and on its view class."""
    action = getattr(view, "action", None)
    handler = getattr(view, action, None) if action else getattr(view, method.lower(), None)
    return tuple(getattr(type(view), "refusal_codes", ())) + tuple(getattr(handler, "refusal_codes", ()))


# --- The catalogue, read from the domain source -------------------------------------------
def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _template(node) -> str | None:
    """A code or field written as a literal or an f-string ("{name}_invalid")."""
    if (text := _literal(node)) is not None:
        return text
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
                       for part in node.values)
    return None


def _message(node) -> str:
    """The message as a reader sees it: literal text, gettext(...) and `% {...}` unwrapped,
    interpolations shown as "…"."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return re.sub(r"%\(\w+\)[sd]", "…", _message(node.left))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _message(node.left) + _message(node.right)
    if isinstance(node, ast.Call) and node.args and _name(node.func) in {"_", "gettext", "gettext_lazy", "ngettext"}:
        return _message(node.args[0])
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal(part) if _literal(part) is not None else "…" for part in node.values)
    return _literal(node) or "…"


def _name(func) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _kwarg(call: ast.Call, name: str):
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _kind(call: ast.Call) -> Kind:
    node = _kwarg(call, "kind")
    if isinstance(node, ast.Attribute):
        return Kind[node.attr]
    return Kind.CONFLICT


def _code_helpers(tree) -> dict[str, tuple[Kind, list[str]]]:
    """Functions of a module that wrap `DomainError(..., code=<their parameter>, kind=K)`:
    name -> (kind, parameter names in order)."""
    helpers = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        params = [arg.arg for arg in function.args.args + function.args.kwonlyargs]
        for call in ast.walk(function):
            if isinstance(call, ast.Call) and _name(call.func) == "DomainError":
                code = _kwarg(call, "code")
                if isinstance(code, ast.Name) and code.id in params:
                    helpers[function.name] = (_kind(call), params)
    return helpers


def _source_files():
    base = Path(settings.BASE_DIR)
    for package in DOMAIN_PACKAGES:
        for path in sorted((base / package).rglob("*.py")):
            if "migrations" not in path.parts and "management" not in path.parts:
                yield path


@functools.cache
def catalogue() -> dict[str, Refusal]:
    """Every refusal code raised by domain code, keyed by code (f-string codes keep their
    placeholders: "{name}_invalid")."""
    found: dict[str, Refusal] = {}
    parsed = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _source_files()}
    helpers: dict[str, tuple[Kind, list[str]]] = {}
    for tree in parsed.values():
        helpers.update(_code_helpers(tree))

    def add(code, kind, message, fieldname, where):
        refusal = found.setdefault(code, Refusal(code, kind, message))
        refusal.fields.add(fieldname)
        refusal.where.add(where)

    for path, tree in parsed.items():
        where = str(path.relative_to(settings.BASE_DIR))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = _name(call.func)
            message_node = call.args[0] if call.args else _kwarg(call, "message")
            if name == "DomainError":
                code = _template(_kwarg(call, "code")) if _kwarg(call, "code") is not None else None
                if code:
                    add(code, _kind(call), _message(message_node), _template(_kwarg(call, "field")) if _kwarg(call, "field") else None, where)
            elif name in FIXED_KIND_HELPERS:
                code_node = _kwarg(call, "code")
                code = _template(code_node) if code_node is not None else "forbidden"
                message_node = _kwarg(call, "message") if name == "require" else message_node
                if code:
                    add(code, FIXED_KIND_HELPERS[name], _message(message_node), None, where)
            elif name in helpers:
                kind, params = helpers[name]
                values = dict(zip(params, call.args)) | {k.arg: k.value for k in call.keywords}
                code = _template(values["code"]) if "code" in values else None
                if code:
                    add(code, kind, _message(values.get("message", message_node)),
                        _template(values["field"]) if "field" in values else None, where)
    return found


def refusal_for(code: str) -> Refusal | None:
    refusals = catalogue()
    if code in refusals:
        return refusals[code]
    return next((refusal for refusal in refusals.values() if refusal.is_pattern and refusal.matches(code)), None)
