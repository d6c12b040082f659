"""The matching engine as pure rules: what reconciliation decides from plain data.

items      expected items (payments, refunds, returns, payouts) built from facts
findings   a problem found, before the exception book writes it
matching   the two matching passes (references; amount, date and payer)
references the reference tokens taken from a statement entry, strongest first
reasons    why a line is unmatched, and whether that is an exception
totals     a run's money totals per currency

Nothing here queries or writes the database: the matcher reads through the
``MatchingSource`` it is given and hands matches and findings to sinks
(reconciliation/services/ provides them over the database), so the rules can be read,
and changed, apart from the storage.
"""
