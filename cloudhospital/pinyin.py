"""Search by pinyin initials, as Chinese pharmacists and families type: "aldp" finds
氨氯地平, "cxm" finds 陈晓敏, "gxy" finds 高血压云诊室. Uses pypinyin (a well-kept
dictionary of readings, heteronyms included), so every reading of a character counts.
"""

from functools import lru_cache
from itertools import product

from pypinyin import Style, pinyin


@lru_cache(maxsize=20_000)
def initials(text: str) -> tuple[str, ...]:
    """Every initial-letter spelling of `text` (lower case; non-Chinese characters kept as
    they are, spaces dropped). A heteronym gives several: 重 is c or z. At most 16 kept."""
    letters = pinyin(text.replace(" ", ""), style=Style.FIRST_LETTER, heteronym=True, errors=lambda chars: list(chars))
    spellings = []
    for combination in product(*[sorted({r.lower() for r in readings}) for readings in letters]):
        spellings.append("".join(combination))
        if len(spellings) >= 16:
            break
    return tuple(spellings)


def matches(query: str, *names: str) -> bool:
    """Whether `query` finds any of `names`: as a substring of the name itself (Chinese or
    English, case-insensitive) or of its pinyin initials."""
    needle = query.strip().lower().replace(" ", "")
    if not needle:
        return True
    for name in names:
        if not name:
            continue
        if needle in name.lower().replace(" ", ""):
            return True
        if needle.isascii() and any(needle in spelling for spelling in initials(name)):
            return True
    return False


def usual_initials(text: str) -> str:
    """The initials of `text`'s usual reading, one spelling (pypinyin's phrase dictionary picks
    a heteronym's reading from its context: 重组 is "cz"): the search key a row stores."""
    letters = pinyin(text.replace(" ", ""), style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(readings[0].lower() for readings in letters if readings)
