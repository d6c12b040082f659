"""Bank statement parsing (camt.053, MT940) for reconciliation: plain Python, no Django.

Every parser returns the same model: a Statement with integer minor-unit balances and a
lazy iterator of StatementEntry. Entries are parsed as they are consumed, so a malformed
entry raises StatementError (with its position) only when the iteration reaches it: an
importer that must be all-or-nothing consumes ``Statement.entries`` inside one database
transaction and lets the error roll it back.

One file can hold several statements (a camt.053 ``Stmt`` or an MT940 :20: block per
account or currency). ``iter_statements`` yields each in file order; moving to the next
one first reads, and so validates, whatever entries of the previous one were left
unread. ``parse_statement`` is for the usual single-statement file: its entries raise
StatementError if the file goes on to a second statement, so none is silently dropped.

    with transaction.atomic():
        for statement in iter_statements(upload):
            import_header(statement)
            for entry in statement.entries:
                import_entry(entry)
"""

from .camt053 import iter_camt053, parse_camt053
from .detect import detect_format, iter_statements, parse_statement
from .errors import StatementError
from .model import (
    CREDIT,
    DEBIT,
    Statement,
    StatementEntry,
    TransactionDetail,
    currency_exponent,
    real_reference,
    to_minor_units,
)
from .mt940 import iter_mt940, parse_mt940

__all__ = [
    "CREDIT",
    "DEBIT",
    "Statement",
    "StatementEntry",
    "StatementError",
    "TransactionDetail",
    "currency_exponent",
    "detect_format",
    "iter_camt053",
    "iter_mt940",
    "iter_statements",
    "parse_camt053",
    "parse_mt940",
    "parse_statement",
    "real_reference",
    "to_minor_units",
]
