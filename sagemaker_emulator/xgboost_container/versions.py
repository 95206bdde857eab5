"""The image tags the emulator implements, and how they differ.

Both tags run on the xgboost installed here (3.0.5). Where the real 1.7-1 image (xgboost 1.7.4)
behaves differently and the difference can be reproduced with 3.0.5, the flags below say so and
training/serving apply them; everything else is shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UnsupportedImageError

_OBJECTIVES_1_7 = (
    "aft_loss_distribution",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)


@dataclass(frozen=True)
class ContainerVersion:
    tag: str
    xgboost_version: str
    """What the real image ships."""
    objectives: tuple[str, ...]
    """Values the container's hyperparameter validation accepts for `objective` (its own list, in its order)."""
    model_format: str
    """`raw_format` of xgboost-model: 'deprecated' = xgboost's legacy binary (what 1.7.4's save_model writes
    for a name without extension), 'ubj' = UBJSON (the 2.1+ default)."""
    legacy_auto_tree_method: bool
    """xgboost 1.x resolves tree_method `auto` (the default) to 'exact' below 4Mi rows and 'approx' above, for
    single-node in-memory data without an explicit updater, and to 'approx' in distributed training;
    False = leave it to xgboost 3 ('hist')."""
    default_base_score: float | None
    """base_score when the user sets none; None = xgboost >= 2 estimates it from the labels."""
    custom_metrics_get_margins: bool
    """Container-computed metrics (accuracy, f1, ...) expect raw margins. 1.7-1 passes them with xgb.train(feval=),
    which gets margins; 3.0-5 passes custom_metric=, which xgboost >= 1.6 feeds transformed predictions
    (probabilities), so its class-label metrics read every probability as class 1 (a bug of the real image)."""
    debug_trace_lines: bool
    """The 3.0-5 container logs TRAIN_JOB_DEBUG / CALLBACK_* / FINAL_MODEL_* lines around training."""
    csv_response_separator: str
    """Between predictions in a text/csv response: one per line since 1.3-1 (0.90-1 to 1.2-2 used ',')."""


VERSIONS: dict[str, ContainerVersion] = {
    "1.7-1": ContainerVersion(
        tag="1.7-1",
        xgboost_version="1.7.4",
        objectives=_OBJECTIVES_1_7,
        model_format="deprecated",
        legacy_auto_tree_method=True,
        default_base_score=0.5,
        custom_metrics_get_margins=True,
        debug_trace_lines=False,
        csv_response_separator="\n",
    ),
    "3.0-5": ContainerVersion(
        tag="3.0-5",
        xgboost_version="3.0.5",
        # 3.0-5 adds reg:absoluteerror, right after reg:squaredlogerror
        objectives=_OBJECTIVES_1_7[:16] + ("reg:absoluteerror",) + _OBJECTIVES_1_7[16:],
        model_format="ubj",
        legacy_auto_tree_method=False,
        default_base_score=None,
        custom_metrics_get_margins=False,
        debug_trace_lines=True,
        csv_response_separator="\n",
    ),
}
SUPPORTED_TAGS: tuple[str, ...] = tuple(VERSIONS)

_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/sagemaker-xgboost:(?P<tag>[0-9]+\.[0-9]+-[0-9]+)(?:-cpu-py3)?$"
)


def resolve_image(image_uri: str) -> ContainerVersion:
    """The container version behind an ECR image URI of the built-in XGBoost algorithm.

    Any account and region are accepted (the SDK's per-region registry accounts are not checked);
    the `-cpu-py3` suffix older SDKs append is ignored.
    """
    match = _IMAGE.match(image_uri.strip())
    if match and match["tag"] in VERSIONS:
        return VERSIONS[match["tag"]]
    supported = ", ".join(f"<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:{tag}" for tag in SUPPORTED_TAGS)
    raise UnsupportedImageError(
        f"Image '{image_uri}' is not supported by this SageMaker emulator. Supported images: {supported} "
        f"(e.g. sagemaker.core.image_uris.retrieve('xgboost', region, '{SUPPORTED_TAGS[-1]}'))."
    )
