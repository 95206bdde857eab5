"""Environment settings: a value that would make a wait loop divide by zero or spin is refused by name."""

import pytest

from bankml.settings import Settings, Wait


@pytest.mark.parametrize("name", ["BANKML_ENDPOINT_WAIT_SECONDS", "BANKML_EVALUATE_TIMEOUT_SECONDS"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_timeouts_below_one_second_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be at least 1, got {int(value)}"):
        Settings.from_env()


@pytest.mark.parametrize("name", ["BANKML_POLL_SECONDS", "BANKML_TRAINING_DESCRIBE_SECONDS"])
@pytest.mark.parametrize("value", ["0", "0.05", "-5", "nan", "inf"])
def test_poll_intervals_that_would_spin_or_never_poll_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be at least 0.1 seconds, got {value}"):
        Settings.from_env()


def test_a_non_number_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("BANKML_POLL_SECONDS", "fast")
    with pytest.raises(ValueError, match="BANKML_POLL_SECONDS must be a number of seconds of at least 0.1, got 'fast'"):
        Settings.from_env()


def test_a_poll_interval_may_be_a_fraction_of_a_second(monkeypatch):
    monkeypatch.setenv("BANKML_POLL_SECONDS", "0.5")
    monkeypatch.setenv("BANKML_ENDPOINT_WAIT_SECONDS", "60")
    settings = Settings.from_env()
    assert (settings.poll_seconds, settings.training_describe_seconds) == (0.5, 0.5)
    assert settings.endpoint_wait().waiter_config() == {"Delay": 0.5, "MaxAttempts": 120}


def test_valid_values_are_read(monkeypatch):
    monkeypatch.setenv("BANKML_POLL_SECONDS", "1")
    monkeypatch.setenv("BANKML_TASK_RETRIES", "0")
    settings = Settings.from_env()
    assert (settings.poll_seconds, settings.task_retries, settings.endpoint_wait_seconds) == (1, 0, 1800)


def test_the_endpoint_wait_counts_the_polls_that_fit_in_its_seconds(monkeypatch):
    monkeypatch.setenv("BANKML_POLL_SECONDS", "30")
    monkeypatch.setenv("BANKML_ENDPOINT_WAIT_SECONDS", "1800")
    wait = Settings.from_env().endpoint_wait()
    assert (wait.delay, wait.max_attempts) == (30, 60)
    assert wait.waiter_config() == {"Delay": 30, "MaxAttempts": 60}


def test_a_wait_shorter_than_one_poll_still_polls_once(monkeypatch):
    monkeypatch.setenv("BANKML_POLL_SECONDS", "30")
    monkeypatch.setenv("BANKML_ENDPOINT_WAIT_SECONDS", "10")
    assert Settings.from_env().endpoint_wait().max_attempts == 1


@pytest.mark.parametrize("delay, attempts", [(0, 5), (0.05, 5), (5, 0)])
def test_a_wait_that_would_not_poll_is_refused(delay, attempts):
    with pytest.raises(ValueError, match=r"a wait needs delay >= 0.1 and max_attempts >= 1"):
        Wait(delay=delay, max_attempts=attempts)
