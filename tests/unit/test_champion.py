"""Champion/challenger rules: the gate, the first version, the tolerance, other test rows."""

from __future__ import annotations

import re

import pytest

from bankml.champion import APPROVED, REJECTED, Version, champion, decide

# What the service accepts as a CustomerMetadataProperties value (botocore's pattern, in Python).
METADATA_VALUE = re.compile(r"[\w\s_.:/=+\-@]{1,256}")


def version(number: int, status: str, roc_auc: float | None = 0.80, test_sha256: str = "t1") -> Version:
    return Version(number, f"arn:v{number}", status, roc_auc, f"run-{number}", test_sha256)


def test_champion_is_the_latest_approved_version_with_a_score() -> None:
    versions = [
        version(1, APPROVED),
        version(2, APPROVED),
        version(3, REJECTED),
        version(4, "PendingManualApproval"),
        version(5, APPROVED, roc_auc=None),
    ]
    assert champion(versions) == versions[1]
    assert champion([version(1, REJECTED)]) is None
    assert champion([]) is None


def test_first_version_is_approved_when_it_passes_the_gate() -> None:
    decision = decide(0.80, min_auc=0.75, tolerance=0.005, champion=None, test_sha256="t1")
    assert (decision.status, decision.champion, decision.same_test_rows) == (APPROVED, None, None)
    assert decision.reason == "first version to pass the quality gate: ROC AUC 0.8000 at least min_auc 0.75"


def test_below_the_gate_is_rejected_even_without_a_champion() -> None:
    decision = decide(0.70, min_auc=0.75, tolerance=0.005, champion=None, test_sha256="t1")
    assert decision.status == REJECTED
    assert decision.reason == "ROC AUC 0.7000 is below the quality gate min_auc 0.75"


@pytest.mark.parametrize(("roc_auc", "status"), [(0.81, APPROVED), (0.7950, APPROVED), (0.7949, REJECTED)])
def test_challenger_against_the_champion_within_tolerance(roc_auc: float, status: str) -> None:
    decision = decide(roc_auc, min_auc=0.5, tolerance=0.005, champion=version(2, APPROVED), test_sha256="t1")
    assert decision.status == status and decision.same_test_rows is True
    assert "the champion v2 ROC AUC 0.8000 minus tolerance 0.005" in decision.reason
    assert "other test rows" not in decision.reason


def test_other_test_rows_are_said() -> None:
    decision = decide(
        0.82, min_auc=0.5, tolerance=0.0, champion=version(1, APPROVED, test_sha256="old"), test_sha256="new"
    )
    assert decision.status == APPROVED and decision.same_test_rows is False
    assert decision.reason.endswith("measured on other test rows: the data changed")


@pytest.mark.parametrize("champ", [None, version(1, APPROVED, test_sha256="old")])
@pytest.mark.parametrize("roc_auc", [0.3, 0.79, 0.9])
def test_reasons_fit_the_services_metadata_values(champ: Version | None, roc_auc: float) -> None:
    reason = decide(roc_auc, min_auc=0.75, tolerance=0.005, champion=champ, test_sha256="t").reason
    assert METADATA_VALUE.fullmatch(reason), reason


def test_bad_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match=r"tolerance must be in \[0, 1\], got -0.1"):
        decide(0.8, min_auc=0.5, tolerance=-0.1, champion=None, test_sha256="t")
