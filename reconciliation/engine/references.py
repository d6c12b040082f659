"""The reference tokens matching looks up, taken from a statement entry at import.

Tokens are grouped by how much they prove, strongest first, and stored on the line as
``[[class, token], …]`` so matching never re-parses the file:

- ``hub``: an id the hub issued (``pay_…``, ``ref_…``) found anywhere in the entry,
  including free remittance text, where banks upper-case it or turn ``_`` into a space
  or a dash (the most common way references get "lost" in ERP imports).
- ``provider``: a Stripe object id (``ch_…``, ``pi_…``, ``po_…``, ``re_…``).
- ``structured``: end-to-end id, structured creditor reference (RF…), instruction id,
  the payer's reference (MT940), the batch's payment-information id.
- ``text``: reference-like words of the remittance text (a letter-and-digit word such
  as ``PF-998877``): weakest, used only when nothing stronger matched.

The bank's own entry reference (``AcctSvcrRef``) is never a token: it names the
booking, not the payment. Nor is a placeholder (``NONREF``, ``NOTPROVIDED``, a bare
SEPA label such as ``EREF+``): every bank writes them, so they would pair anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reconciliation.statements import StatementEntry, real_reference

HUB = "hub"
PROVIDER = "provider"
STRUCTURED = "structured"
TEXT = "text"
CLASSES = (HUB, PROVIDER, STRUCTURED, TEXT)

# tenants.ids.new_id: 15 random bytes in lower-case base32 = 24 characters.
_HUB_ID = re.compile(r"\b(pay|ref)[ _-]?([a-z2-7]{24})\b", re.IGNORECASE)
_STRIPE_ID = re.compile(r"\b((?:ch|py|pi|po|re|pyr|dp|txn)_[A-Za-z0-9]{8,})\b")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]*[A-Za-z0-9]")
_MIN_TEXT_TOKEN = 6
_MAX_TEXT_TOKENS = 8


def hub_ids(text: str | None) -> list[str]:
    """Hub ids in ``text``, in canonical form (``pay_`` + lower-case base32)."""
    if not text:
        return []
    return [f"{prefix.lower()}_{body.lower()}" for prefix, body in _HUB_ID.findall(text)]


def stripe_ids(text: str | None) -> list[str]:
    return _STRIPE_ID.findall(text or "")


def text_tokens(text: str | None) -> list[str]:
    """Reference-like words: long enough, with a digit, not already a hub/Stripe id."""
    found = []
    for word in _WORD.findall(text or ""):
        if len(word) >= _MIN_TEXT_TOKEN and any(ch.isdigit() for ch in word):
            found.append(word)
            if len(found) == _MAX_TEXT_TOKENS:
                break
    return found


def entry_tokens(entry: StatementEntry) -> list[list[str]]:
    """Every token of a bank statement entry with its class, once, strongest first."""
    structured: list[str | None] = [entry.customer_reference, entry.batch_reference]
    texts: list[str | None] = [entry.additional_info]
    for detail in entry.details:
        structured += [
            detail.end_to_end_id,
            detail.creditor_reference,
            detail.instruction_id,
            detail.payment_information_id,
        ]
        texts.append(detail.remittance_text)
    everything = [*structured, *texts]
    return _classified(
        hub=[token for value in everything for token in hub_ids(value)],
        provider=[token for value in everything for token in stripe_ids(value)],
        structured=[ref for ref in map(real_reference, structured) if ref],
        text=[token for value in texts for token in text_tokens(value)],
    )


def detail_tokens(detail) -> list[str]:
    """The tokens of one underlying transaction, for matching a batch item by item."""
    values = [detail.end_to_end_id, detail.creditor_reference, detail.instruction_id]
    tokens = [token for value in [*values, detail.remittance_text] for token in hub_ids(value)]
    tokens += [ref for ref in map(real_reference, values) if ref]
    return list(dict.fromkeys(tokens))


def classified(*, provider: Iterable[str] = (), structured: Iterable[str] = ()) -> list[list[str]]:
    """Tokens for a line that does not come from a bank file (a Stripe transaction)."""
    return _classified(hub=[], provider=list(provider), structured=list(structured), text=[])


def _classified(**groups: list[str]) -> list[list[str]]:
    seen: set[str] = set()
    result = []
    for name in CLASSES:
        for token in groups[name]:
            if token and token not in seen:
                seen.add(token)
                result.append([name, token[:255]])
    return result


def tokens_of(references: list, *classes: str) -> list[str]:
    """The stored tokens of the given classes."""
    wanted = set(classes or CLASSES)
    return [token for name, token in references if name in wanted]
