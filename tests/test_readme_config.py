"""The configuration table lists exactly the environment variables the settings read.

The table lives in docs/deployment.md, under "## Configuration" (it moved there from the README,
which links it; the file keeps its name).

Both sides are read afresh on every run: cloudhospital/settings.py through `ast` (every
`os.environ.get("X")`, `os.environ["X"]`, `os.getenv("X")`, `"X" in os.environ`, and every
call of a helper defined in the settings that reads the environment, such as
`env_bool("X", ...)`), and the table under "## Configuration" (the backticked
names in its first column). A setting added without a row, or a row left behind by a
removed setting, fails here.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "cloudhospital" / "settings.py"
CONFIGURATION_DOC = ROOT / "docs" / "deployment.md"
NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _reads_environment(function: ast.FunctionDef) -> bool:
    return any(_is_os_environ(node) or (isinstance(node, ast.Attribute) and node.attr == "getenv") for node in ast.walk(function))


def variables_read_by_settings(source: str) -> set[str]:
    tree = ast.parse(source)
    helpers = {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and _reads_environment(node)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            first = _constant(node.args[0]) if node.args else None
            if isinstance(func, ast.Attribute) and func.attr in {"get", "pop", "setdefault"} and _is_os_environ(func.value):
                names.add(first)
            elif isinstance(func, ast.Attribute) and func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os":
                names.add(first)
            elif isinstance(func, ast.Name) and func.id in helpers:
                names.add(first)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            names.add(_constant(node.slice))
        elif isinstance(node, ast.Compare) and any(_is_os_environ(c) for c in node.comparators):
            names.add(_constant(node.left))
    # None: a read with a computed name (inside the helpers themselves), not a variable.
    names.discard(None)
    return names


def variables_in_configuration_table(text: str) -> set[str]:
    match = re.search(r"^## Configuration[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{CONFIGURATION_DOC.relative_to(ROOT)} has no '## Configuration' section"
    section = match.group(1)
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in NAME.findall(row.split("|")[1])}


def test_the_parser_finds_every_way_the_settings_read_the_environment():
    source = '''
import os
def env_bool(name, default):
    return os.environ.get(name) == "1"
def env_list(name, default):
    return os.environ.get(name, default).split(",")
def unrelated(name):
    return name
A = os.environ.get("A_GET", "x")
B = os.environ["B_ITEM"]
C = os.getenv("C_GETENV")
D = env_bool("D_BOOL", False)
E = env_list("E_LIST", "")
F = int(os.environ.get("F_NESTED", "0")) if "G_IN" in os.environ else 0
H = unrelated("NOT_A_VARIABLE")
'''
    assert variables_read_by_settings(source) == {"A_GET", "B_ITEM", "C_GETENV", "D_BOOL", "E_LIST", "F_NESTED", "G_IN"}


def test_the_table_parser_takes_every_name_of_a_row_and_only_the_first_column():
    text = "## Configuration\n\n| variable | default | meaning |\n| --- | --- | --- |\n" \
           "| `DB_POOL`, `DB_POOL_MIN` | off, 2 | see `REDIS_URL` |\n| `DEBUG` | off | x |\n\n## Layout\n| `NOT_HERE` | | |\n"
    assert variables_in_configuration_table(text) == {"DB_POOL", "DB_POOL_MIN", "DEBUG"}


def test_the_configuration_table_lists_exactly_what_the_settings_read():
    read = variables_read_by_settings(SETTINGS.read_text())
    listed = variables_in_configuration_table(CONFIGURATION_DOC.read_text())
    assert len(read) > 20, f"the settings parser found too little: {sorted(read)}"
    missing, stale = sorted(read - listed), sorted(listed - read)
    where = f"the configuration table of {CONFIGURATION_DOC.relative_to(ROOT)}"
    assert not missing, f"read in cloudhospital/settings.py but not in {where}: {missing}"
    assert not stale, f"in {where} but no longer read by the settings: {stale}"


def test_the_readme_points_to_the_configuration_table():
    assert "docs/deployment.md#configuration" in (ROOT / "README.md").read_text()
