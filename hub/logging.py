"""Log hygiene: secrets never reach a log line, whatever a developer passes to a logger."""

import logging
import re

# API keys, webhook secrets and Stripe keys all have recognisable prefixes.
SECRET_PATTERN = re.compile(
    r"\b(hk_[A-Za-z0-9]{8}_[A-Za-z0-9_\-]{16,}|whsec_[A-Za-z0-9+/=]{16,}|"
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,})"
)
BEARER_PATTERN = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(text: str) -> str:
    text = SECRET_PATTERN.sub("[redacted]", text)
    return BEARER_PATTERN.sub(r"\1[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
