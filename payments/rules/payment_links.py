"""What a payment link accepts from a citizen: the reference and the amount (no Django).

The agency's reference pattern is a regular expression the hub runs on text anyone on
the internet can type, so it is compiled with RE2, not Python's ``re``: RE2 runs in
time linear in the input whatever the pattern (no catastrophic backtracking, so no
pattern can be a denial of service), refuses what needs backtracking (back-references,
look-arounds), and is given a bounded memory budget. The pattern is always anchored:
the whole reference must match, not a part of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import re2

MAX_PATTERN_LENGTH = 200
MAX_REFERENCE_LENGTH = 100
# RE2 compiles a pattern into an automaton within this budget, or refuses the pattern.
PATTERN_MEMORY_BYTES = 1 << 20


class ReferencePatternError(ValueError):
    """The agency's pattern is not one the hub will run."""


@lru_cache(maxsize=256)
def compile_reference_pattern(pattern: str):
    """The pattern compiled to match a whole reference; ``ReferencePatternError`` if not
    a pattern the hub accepts."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ReferencePatternError(f"The pattern is longer than {MAX_PATTERN_LENGTH} characters")
    if "\n" in pattern or "\r" in pattern:
        raise ReferencePatternError("The pattern must be one line")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = PATTERN_MEMORY_BYTES
    try:
        # Anchored both ends, and the agency's own anchors still mean what they say.
        return re2.compile(rf"\A(?:{pattern})\z", options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ReferencePatternError(f"The pattern is not a valid RE2 expression: {detail}") from exc


def reference_matches(pattern: str, reference: str) -> bool:
    """Whether ``reference`` is one the link accepts; any reference without a pattern."""
    if len(reference) > MAX_REFERENCE_LENGTH:
        return False
    if not pattern:
        return True
    return compile_reference_pattern(pattern).fullmatch(reference) is not None


# Digits, optionally grouped in threes, optionally a decimal part. Either mark may be
# the decimal one: a mark followed by exactly three digits at the end groups thousands,
# one followed by one or two digits is the decimal mark ("12,50", "12.50", "1.234,50").
_AMOUNT = re.compile(r"^(\d{1,3}(?:[.,\s]\d{3})+|\d+)(?:[.,](\d{1,2}))?$")
_CURRENCY_SIGNS = "€£$"


class AmountNotUnderstood(ValueError):
    pass


def parse_amount(text: str, exponent: int) -> int:
    """What the citizen typed ("12,50", "€ 12.50", "1.234,50") in minor units."""
    cleaned = text.strip().replace("\u00a0", " ").strip(_CURRENCY_SIGNS + " ")
    if len(cleaned) > 20:
        raise AmountNotUnderstood(text)
    match = _AMOUNT.match(cleaned)
    if not match:
        raise AmountNotUnderstood(text)
    whole = re.sub(r"[.,\s]", "", match.group(1))
    fraction = match.group(2) or ""
    if len(fraction) > exponent:
        raise AmountNotUnderstood(text)
    return int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or 0)


@dataclass(frozen=True)
class AmountRange:
    minimum: int
    maximum: int

    def problem(self, minor: int) -> str | None:
        """``"too_small"``, ``"too_large"`` or None for an acceptable amount."""
        if minor < self.minimum:
            return "too_small"
        if minor > self.maximum:
            return "too_large"
        return None
