"""Fixtures shared by the hub tests."""

import pytest

from tests.support.receiver import WebhookReceiver


def pytest_terminal_summary(terminalreporter):
    """Print the schemathesis run's size after the results, when it ran."""
    import sys

    fuzz = sys.modules.get("tests.hub.test_api_fuzz")
    if fuzz is not None and fuzz.FIGURES["cases"]:
        figures = fuzz.FIGURES
        terminalreporter.write_line(
            f"schemathesis: {figures['operations']} operations, {figures['cases']} cases sent"
        )


@pytest.fixture
def receivers():
    """Start local webhook receivers (``receivers(**kwargs)``); all stop after the test."""
    started = []

    def start(**kwargs) -> WebhookReceiver:
        receiver = WebhookReceiver(**kwargs).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
