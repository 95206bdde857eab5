import threading

import pytest

from bankml.evaluation.endpoint_scoring import (
    EndpointInvocationError,
    parse_predictions,
    score,
    split_labelled_csv,
)

DATA = b"".join(f"{i % 2},{i},{i * 2}\n".encode() for i in range(10))


def test_split_removes_label_and_respects_row_limit():
    rows = split_labelled_csv(DATA, max_rows=4)
    assert rows.labels.tolist() == [i % 2 for i in range(10)]
    assert [c.rows for c in rows.chunks] == [4, 4, 2]
    assert rows.chunks[0].body == b"0,0\n1,2\n2,4\n3,6\n"
    assert [c.start_row for c in rows.chunks] == [0, 4, 8]


def test_split_respects_payload_bytes():
    rows = split_labelled_csv(DATA, max_payload_bytes=10)
    assert all(len(c.body) <= 10 for c in rows.chunks)
    assert sum(c.rows for c in rows.chunks) == 10


@pytest.mark.parametrize(
    "data, message",
    [(b"", "empty"), (b"1\n", "expected 'label"), (b"1," + b"9" * 100 + b"\n", "larger than the payload")],
)
def test_split_rejects_bad_input(data, message):
    with pytest.raises(ValueError, match=message):
        split_labelled_csv(data, max_payload_bytes=50)


def test_payload_limit_cannot_exceed_the_service_limit():
    with pytest.raises(ValueError):
        split_labelled_csv(DATA, max_payload_bytes=7 * 1024 * 1024)


def test_parse_both_csv_response_formats():
    assert parse_predictions(b"0.1\n0.2\n", 2).tolist() == [0.1, 0.2]
    assert parse_predictions(b"0.1,0.2", 2).tolist() == [0.1, 0.2]
    with pytest.raises(EndpointInvocationError, match="returned 1 scores for 2 rows"):
        parse_predictions(b"0.1\n", 2)


def echo_first_feature(body: bytes) -> bytes:
    return b"".join(line.split(b",")[0] + b"\n" for line in body.splitlines())


def test_score_keeps_row_order_with_concurrency_and_reports_progress():
    rows = split_labelled_csv(DATA, max_rows=3)
    seen = []
    scores = score(rows, echo_first_feature, workers=3, progress=lambda d, t: seen.append((d, t)))
    assert scores.tolist() == list(map(float, range(10)))
    assert seen[-1] == (10, 10) and len(seen) == 4


def test_score_fails_fast_on_an_invocation_error():
    calls = []
    lock = threading.Lock()

    def failing(body: bytes) -> bytes:
        with lock:
            calls.append(body)
        raise EndpointInvocationError("boom")

    rows = split_labelled_csv(DATA, max_rows=1)
    with pytest.raises(EndpointInvocationError, match="boom"):
        score(rows, failing, workers=1)
    assert len(calls) < 10


def test_score_stops_at_its_deadline_and_cancels_the_queue():
    """Each invocation may start only once the previous one was counted; the (fake) clock passes the
    deadline after two payloads: at most the next two have started, the rest are cancelled, never sent."""
    sent, scored = [], []
    turn = threading.Semaphore(1)

    def invoke(body: bytes) -> bytes:
        if not turn.acquire(timeout=10):
            raise AssertionError("scoring did not let go of a payload after its deadline")
        sent.append(body)
        return echo_first_feature(body)

    def progress(done: int, total: int) -> None:
        scored.append(done)
        turn.release()

    rows = split_labelled_csv(DATA, max_rows=1)
    with pytest.raises(
        TimeoutError,
        match=r"Timeout: scoring stopped at its deadline with 2 of 10 rows scored; "
        r"[67] queued payloads were cancelled, [12] in flight abandoned",
    ):
        score(rows, invoke, workers=1, progress=progress, deadline=5.0, clock=lambda: 10.0 if len(scored) >= 2 else 0.0)
    turn.release()
    assert len(sent) <= 4


def test_an_exception_from_outside_still_cancels_the_queue():
    """Airflow's execution_timeout arrives as an exception raised in the waiting thread."""
    sent = []

    class Interrupted(Exception):
        pass

    def clock() -> float:
        if len(sent) >= 1:
            raise Interrupted()
        return 0.0

    def invoke(body: bytes) -> bytes:
        sent.append(body)
        return echo_first_feature(body)

    rows = split_labelled_csv(DATA, max_rows=1)
    with pytest.raises(Interrupted):
        score(rows, invoke, workers=1, deadline=100.0, clock=clock)
    assert len(sent) < 10


def test_progress_is_logged_every_ten_percent_and_at_the_end(caplog):
    import logging

    from bankml.evaluation.endpoint_scoring import progress_logger

    now = iter([0.0, 1.0, 2.0])  # read at the start and at each logged line only
    progress = progress_logger(clock=lambda: next(now))
    with caplog.at_level(logging.INFO, logger="bankml.evaluation.endpoint_scoring"):
        for done in (500, 1_300, 12_357):
            progress(done, 12_357)
    assert [r.getMessage() for r in caplog.records] == [
        "Scored 1,300/12,357 rows (10%, 1300 rows/s)",
        "Scored 12,357/12,357 rows (100%, 6178 rows/s)",
    ]
