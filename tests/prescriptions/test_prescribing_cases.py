"""Table-driven prescribing cases (tests/prescriptions/prescribing_cases.yaml): each case's
patient facts and items against the real formulary file, its expected findings (code and
severity, and the item where given) present, its `absent` codes not, and a `clean` case
without any clinical finding. Each case names why and its source."""

from pathlib import Path

import pytest
import yaml

from prescriptions.checks import findings_for
from tests.prescriptions.checks_support import codes, facts, line

CASES = yaml.safe_load((Path(__file__).parent / "prescribing_cases.yaml").read_text(encoding="utf-8"))["cases"]


def test_the_table_has_at_least_80_cases_each_with_why_and_source():
    assert len(CASES) >= 80
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.get("why") and case.get("source"), case["id"]
        assert case.get("expect") or case.get("absent") or case.get("clean"), case["id"]


def _items(case):
    return [line(code, dose, frequency, days, position=i, unit=rest[0] if rest else None)
            for i, (code, dose, frequency, days, *rest) in enumerate(case["items"])]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_prescribing_case(case):
    found = codes(findings_for(facts(**case["patient"]), _items(case)))
    for code, severity, *item in case.get("expect", []):
        assert any(c == code and s == severity and (not item or i == item[0]) for c, s, i in found), (
            case["id"], code, severity, found)
    for code in case.get("absent", []):
        assert code not in {c for c, _, _ in found}, (case["id"], code, found)
    if case.get("clean"):
        assert found == set(), (case["id"], found)
