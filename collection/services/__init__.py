"""Every write the collections app makes, one module per subject:

debts      record debts, move their balance and state
write_offs write a debt off, with its plan and open instalments
mandates   record, activate, cancel and expire direct-debit mandates
plans      agree and end payment plans (the instalment schedule)
runs       collection runs: select what is due, present it in chunks, finish
outcomes   apply a payment's success, reject or return to its instalment and debt
returns    import the bank's status reports (pain.002)
stopping   stop all collection from a person (death)
dunning    the dunning ladder
daily      the daily job: housekeeping, then the day's run
advance_notices  ask for each debit's advance notice in time, record it, hold what had none

What other apps call is exported here (the notifications app records the notices it sent).
"""

from collection.services.advance_notices import record_advance_notice

__all__ = ["record_advance_notice"]
