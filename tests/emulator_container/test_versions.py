from __future__ import annotations

import pytest

from sagemaker_emulator.xgboost_container.errors import UnsupportedImageError
from sagemaker_emulator.xgboost_container.versions import SUPPORTED_TAGS, VERSIONS, resolve_image


@pytest.mark.parametrize("tag", ["1.7-1", "3.0-5"])
def test_resolves_the_uris_the_sdk_produces(tag: str) -> None:
    from sagemaker.core import image_uris

    for region in ("us-east-1", "eu-west-1"):
        version = resolve_image(image_uris.retrieve("xgboost", region, tag))
        assert version.tag == tag


def test_ships_the_xgboost_versions_of_the_real_images() -> None:
    assert SUPPORTED_TAGS == ("1.7-1", "3.0-5")
    assert VERSIONS["1.7-1"].xgboost_version == "1.7.4"
    assert VERSIONS["3.0-5"].xgboost_version == "3.0.5"


def test_accepts_the_cpu_py3_suffix_of_older_sdks() -> None:
    uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-cpu-py3"
    assert resolve_image(uri).tag == "1.7-1"


@pytest.mark.parametrize(
    "uri",
    [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3",  # real but not emulated
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0",
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",  # the legacy 0.72 algorithm
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",
        "sagemaker-xgboost:1.7-1",
    ],
)
def test_other_images_are_refused_naming_the_supported_ones(uri: str) -> None:
    with pytest.raises(UnsupportedImageError) as raised:
        resolve_image(uri)
    message = str(raised.value)
    assert uri in message
    assert "sagemaker-xgboost:1.7-1" in message and "sagemaker-xgboost:3.0-5" in message


def test_per_version_differences() -> None:
    old, new = VERSIONS["1.7-1"], VERSIONS["3.0-5"]
    assert (old.model_format, new.model_format) == ("deprecated", "ubj")
    assert "reg:absoluteerror" not in old.objectives and "reg:absoluteerror" in new.objectives
    assert set(new.objectives) - set(old.objectives) == {"reg:absoluteerror"}
    assert (old.legacy_auto_tree_method, new.legacy_auto_tree_method) == (True, False)
    assert (old.default_base_score, new.default_base_score) == (0.5, None)
    assert (old.debug_trace_lines, new.debug_trace_lines) == (False, True)
    assert old.csv_response_separator == new.csv_response_separator == "\n"
