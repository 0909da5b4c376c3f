"""The README and the pages under docs/ link to each other without dead ends.

Every relative link in README.md and docs/*.md must lead to a file of the repository, and a
`#fragment` to a heading of the target as GitHub renders it (the same slugs, duplicates
numbered). The README lists every docs/ page, and every page links back to the README.
Links inside code (fenced blocks and `inline code`) and absolute URLs are not checked.
"""

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *PAGES]

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`+[^`]*`+")
LINK = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose_lines(text: str):
    """The lines outside fenced code blocks, as (line number, line)."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters of any script,
    digits, `_` and `-` stay), spaces become hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    kept = "".join(c for c in text if c.isalnum() or c in " -_" or unicodedata.category(c).startswith("M"))
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(text: str):
    """(line number, target) of every relative link outside code."""
    for number, line in prose_lines(text):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            target = match.group(1)
            if target and not ABSOLUTE.match(target):
                yield number, target


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    text = document.read_text(encoding="utf-8")
    problems = []
    for number, target in relative_links(text):
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / unquote(path_part)).resolve() if path_part else document
        where = f"{document.relative_to(root)}:{number}: {target}"
        if not resolved.exists():
            problems.append(f"{where}: no such file")
        elif fragment:
            if resolved.suffix != ".md" or resolved.is_dir():
                problems.append(f"{where}: a fragment into a file that has no headings")
            elif unquote(fragment).lower() not in anchors(resolved.read_text(encoding="utf-8")):
                problems.append(f"{where}: no heading #{fragment} there")
    return problems


def test_the_slugs_are_githubs():
    assert slug("Zhang Lin's day (`make demo`)") == "zhang-lins-day-make-demo"
    assert slug("Fulfilment orders (pickup, delivery, the pharmacy's side)") == \
        "fulfilment-orders-pickup-delivery-the-pharmacys-side"
    assert slug("Electronic health record (健康档案)") == "electronic-health-record-健康档案"
    assert slug("Who may do what: one access policy") == "who-may-do-what-one-access-policy"
    assert slug("allowed_actions") == "allowed_actions"


def test_the_checker_finds_a_dead_file_a_dead_anchor_and_ignores_code(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Errors\n\n## Errors\n")
    page = tmp_path / "page.md"
    text = (
        "# Page\n\nSee [errors](other.md#errors), [again](other.md#errors-1), [here](#page) "
        "and [the site](https://example.org/x.md).\n"
        "Broken: [gone](missing.md) and [no anchor](other.md#nowhere) and [self](#nope).\n"
        "`[in code](missing-too.md)`\n\n```\n[fenced](missing-three.md)\n# not a heading\n```\n"
    )
    page.write_text(text)
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 3, problems
    assert any("missing.md: no such file" in p for p in problems)
    assert any("#nowhere" in p for p in problems) and any("#nope" in p for p in problems)
    assert "not-a-heading" not in anchors(text)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    assert not broken_links(document), "\n".join(broken_links(document))


def test_the_readme_lists_every_docs_page_and_every_page_links_back():
    assert PAGES, "no docs/*.md pages"
    readme_targets = {target.partition("#")[0] for _, target in relative_links(README.read_text(encoding="utf-8"))}
    unlisted = [page.name for page in PAGES if f"docs/{page.name}" not in readme_targets]
    assert not unlisted, f"docs pages the README does not link: {unlisted}"
    no_way_back = [page.name for page in PAGES
                   if "../README.md" not in {t.partition("#")[0] for _, t in relative_links(page.read_text(encoding="utf-8"))}]
    assert not no_way_back, f"docs pages without a link back to the README: {no_way_back}"
