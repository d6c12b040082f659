"""Log hygiene: secrets and national identifiers never reach a log line, whatever a
developer passes to a logger and whatever URL a client calls.

The filter sits on every handler the hub configures (settings.LOGGING), including
the web server's access log (``django.server``), which prints the full request line:
a client that still sends ``GET /api/v1/constituents?identifier=nl_bsn:…`` must not
leave the BSN in it.
"""

import logging
import re

from stdnum import iban
from stdnum.nl import bsn

# API keys, webhook secrets and Stripe keys all have recognisable prefixes.
SECRET_PATTERN = re.compile(
    r"\b(hk_[A-Za-z0-9]{8}_[A-Za-z0-9_\-]{16,}|whsec_[A-Za-z0-9+/=]{16,}|"
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,})"
)
BEARER_PATTERN = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
# The value of an ``identifier`` query parameter, in clear or URL-encoded.
IDENTIFIER_PARAMETER = re.compile(r"(\bidentifier=)[^&\s\"']*", re.IGNORECASE)
# A BSN is nine digits (written 123456782 or 1234.56.782) that pass the 11-check; a
# nine-digit number standing alone that passes it is treated as one (a reference
# that happens to pass is redacted too: a false alarm in a log costs less than a leak).
BSN_LIKE = re.compile(r"(?<![\w.])(?:\d{9}|\d{4}\.\d{2}\.\d{3})(?!\w|\.\d)")
# A UK National Insurance number (QQ 12 34 56 C), with or without spaces.
NINO_LIKE = re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


def _iban(match: re.Match) -> str:
    return "[redacted]" if iban.is_valid(match.group(0)) else match.group(0)


def _bsn(match: re.Match) -> str:
    return "[redacted]" if bsn.is_valid(match.group(0).replace(".", "")) else match.group(0)


def redact(text: str) -> str:
    text = SECRET_PATTERN.sub("[redacted]", text)
    text = BEARER_PATTERN.sub(r"\1[redacted]", text)
    text = IDENTIFIER_PARAMETER.sub(r"\1[redacted]", text)
    text = IBAN_CANDIDATE.sub(_iban, text)
    text = NINO_LIKE.sub("[redacted]", text)
    return BSN_LIKE.sub(_bsn, text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
