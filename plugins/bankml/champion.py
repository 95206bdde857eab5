"""Champion/challenger: does this run's model replace the best one registered so far?

The champion is the latest Approved version of the feature set's model package group. A
challenger is Approved when it passes the quality gate (`min_auc`) and its test ROC AUC is at
least the champion's minus `tolerance` (retraining on the same data gives slightly different
models; a tolerance keeps a weekly run from being rejected for noise). Both are scored on the
same test rows when the test set's sha256 matches; when it does not, the decision says so.

Reasons are stored as model package metadata, whose values the service restricts to letters,
digits, spaces and ``_.:/=+-@``: the wording here stays inside that set.
"""

from __future__ import annotations

from dataclasses import dataclass

APPROVED, REJECTED = "Approved", "Rejected"


@dataclass(frozen=True)
class Version:
    """A registered model version as this pipeline records it (from its metadata)."""

    version: int
    arn: str
    status: str
    roc_auc: float | None
    run_key: str | None
    test_sha256: str | None


@dataclass(frozen=True)
class Decision:
    status: str
    reason: str
    champion: Version | None
    same_test_rows: bool | None  # None: no champion to compare with


def champion(versions: list[Version]) -> Version | None:
    """The latest Approved version that has a ROC AUC to compare with, or None."""
    approved = [v for v in versions if v.status == APPROVED and v.roc_auc is not None]
    return max(approved, key=lambda v: v.version, default=None)


def decide(roc_auc: float, *, min_auc: float, tolerance: float, champion: Version | None, test_sha256: str) -> Decision:
    """Approve or reject a challenger; see the module docstring for the rules."""
    if not 0.0 <= tolerance <= 1.0:
        raise ValueError(f"tolerance must be in [0, 1], got {tolerance}")
    if roc_auc < min_auc:
        return Decision(
            REJECTED,
            f"ROC AUC {roc_auc:.4f} is below the quality gate min_auc {min_auc:g}",
            champion,
            _same_rows(champion, test_sha256),
        )
    if champion is None:
        return Decision(
            APPROVED,
            f"first version to pass the quality gate: ROC AUC {roc_auc:.4f} at least min_auc {min_auc:g}",
            None,
            None,
        )
    same = _same_rows(champion, test_sha256)
    floor = champion.roc_auc - tolerance  # type: ignore[operator]  # champion() only returns scored versions
    comparison = f"the champion v{champion.version} ROC AUC {champion.roc_auc:.4f} minus tolerance {tolerance:g}" + (
        "" if same else " - measured on other test rows: the data changed"
    )
    if roc_auc >= floor:
        return Decision(APPROVED, f"ROC AUC {roc_auc:.4f} is at least {comparison}", champion, same)
    return Decision(REJECTED, f"ROC AUC {roc_auc:.4f} is below {comparison}", champion, same)


def _same_rows(champion: Version | None, test_sha256: str) -> bool | None:
    return None if champion is None else champion.test_sha256 == test_sha256
