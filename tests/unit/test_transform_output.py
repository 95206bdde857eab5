import numpy as np
import pytest

from bankml.evaluation.transform_output import labels_and_scores


def test_label_and_score_lines_in_order():
    labels, scores = labels_and_scores(b"0,0.12\n1,0.93\n\n0,0.4\n")
    np.testing.assert_array_equal(labels, [0, 1, 0])
    np.testing.assert_allclose(scores, [0.12, 0.93, 0.4])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"0,0.1\n1,0.2,0.3\n", "line 2: expected 'label,score'"),
        (b"0,high\n", "line 1: expected 'label,score'"),
        (b"\n", "holds no rows"),
    ],
)
def test_malformed_output_is_an_error_naming_the_line(body, message):
    with pytest.raises(ValueError, match=message):
        labels_and_scores(body)


def test_the_jobs_one_out_object_is_read() -> None:
    import boto3
    from moto import mock_aws

    from bankml.evaluation.transform_output import read_output

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="run/transform/test.csv.out", Body=b"1,0.9\n")
        s3.put_object(Bucket="bkt", Key="run/transform-other/test.csv.out", Body=b"")  # a sibling prefix
        s3.put_object(Bucket="bkt", Key="run/transform/_SUCCESS", Body=b"")
        assert read_output(s3, "s3://bkt/run/transform") == b"1,0.9\n"
        with pytest.raises(ValueError, match=r"expected one \.out object under s3://bkt/run/none, found \[\]"):
            read_output(s3, "s3://bkt/run/none")
