"""The apps depend on each other one way only: pharmacy -> prescriptions -> consult ->
cloudhospital. Read from the source (AST), so a late import inside a function counts too.

- prescriptions never imports pharmacy; consult imports neither prescriptions nor pharmacy;
- cloudhospital's core modules import no app; only its composition modules (urls, asgi,
  routing, the episode FHIR export, seed_demo) put the apps together;
- consult.selectors (reads) imports no consult write module;
- no module imports another module's private (`_name`) helpers.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cloudhospital", "consult", "prescriptions", "pharmacy")
FORBIDDEN = {
    "consult": {"prescriptions", "pharmacy"},
    "prescriptions": {"pharmacy"},
}
# cloudhospital modules that exist to compose the apps; every other one is core.
COMPOSITION = {
    "cloudhospital/urls.py",
    "cloudhospital/asgi.py",
    "cloudhospital/routing.py",
    "cloudhospital/fhir.py",
    "cloudhospital/api/episode.py",
    "cloudhospital/management/commands/seed_demo.py",
}
CONSULT_WRITE_MODULES = {"consult.booking", "consult.consultation", "consult.records", "consult.schedules",
                         "consult.tasks", "consult.demo", "consult.demo_booking"}


def source_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def module_name(path: Path, root: Path = ROOT) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports(path: Path, root: Path = ROOT):
    """(imported module, names taken from it) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            yield module, [alias.name for alias in node.names]


def app_of(module: str) -> str:
    return module.split(".", 1)[0]


ALL = [(path, module, names) for path in source_files() for module, names in imports(path)]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_graph_was_read():
    assert len({rel(path) for path, _, _ in ALL}) > 60


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_apps_depend_one_way(app):
    offending = [
        f"{rel(path)} imports {module}" for path, module, _ in ALL
        if app_of(module_name(path)) == app and app_of(module) in FORBIDDEN[app]
    ]
    assert not offending, "\n".join(offending)


def test_cloudhospital_core_modules_import_no_app():
    offending = [
        f"{rel(path)} imports {module}" for path, module, _ in ALL
        if rel(path).startswith("cloudhospital/") and rel(path) not in COMPOSITION
        and app_of(module) in {"consult", "prescriptions", "pharmacy"}
    ]
    assert not offending, "\n".join(offending)


def test_the_read_module_imports_no_write_module():
    offending = [
        f"consult/selectors.py imports {module}" for path, module, _ in ALL
        if rel(path) == "consult/selectors.py" and module in CONSULT_WRITE_MODULES
    ]
    assert not offending, "\n".join(offending)


def test_domain_modules_do_not_import_their_tasks():
    """One direction between domain code and tasks: a tasks module imports the domain function it
    wraps; domain code names the task it queues (cloudhospital.outbox) and never imports it."""
    offending = [
        f"{rel(path)} imports {module}" for path, module, _ in ALL
        if module.endswith(".tasks") and not rel(path).endswith("tasks.py")
    ]
    assert not offending, "\n".join(offending)


def test_no_module_imports_another_modules_private_names():
    offending = [
        f"{rel(path)} imports {name} from {module}" for path, module, names in ALL
        if app_of(module) in APPS and module != module_name(path)
        for name in names if name.startswith("_") and not name.startswith("__")
    ]
    assert not offending, "\n".join(offending)


def test_the_checker_sees_late_relative_and_private_imports(tmp_path):
    """The walk finds an import inside a function and resolves a relative one, so the rules
    above cannot be dodged by either."""
    (tmp_path / "prescriptions").mkdir()
    sample = tmp_path / "prescriptions" / "sample.py"
    sample.write_text("def f():\n    from pharmacy.orders.base import _hidden\n\nfrom .lifecycle import x\n")
    found = list(imports(sample, root=tmp_path))
    assert ("pharmacy.orders.base", ["_hidden"]) in found
    assert ("prescriptions.lifecycle", ["x"]) in found
