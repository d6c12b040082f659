"""Event types the collections app publishes (agencies receive them as webhooks).

One type per step a collections team acts on: the agency's systems send the letters,
update their case files and answer the debtor's questions from these.
"""

from hub.events.catalogue import register_event_type

DEBT_CREATED = register_event_type(
    "debt.created", "A debt was recorded", read_scope="collections:read"
)
DEBT_IN_ARREARS = register_event_type(
    "debt.in_arrears",
    "A debt is overdue: an instalment failed for good, or it is past due",
    read_scope="collections:read",
)
DEBT_PAID = register_event_type(
    "debt.paid", "A debt's balance reached zero", read_scope="collections:read"
)
DEBT_SUSPENDED = register_event_type(
    "debt.suspended",
    "Collection of a debt stopped (e.g. the debtor died)",
    read_scope="collections:read",
)
DEBT_WRITTEN_OFF = register_event_type(
    "debt.written_off", "A debt was written off", read_scope="collections:read"
)

MANDATE_CREATED = register_event_type(
    "mandate.created", "A direct-debit mandate was recorded", read_scope="collections:read"
)
MANDATE_ACTIVE = register_event_type(
    "mandate.active", "A mandate can now be collected on", read_scope="collections:read"
)
MANDATE_CANCELLED = register_event_type(
    "mandate.cancelled",
    "A mandate was cancelled (by the agency, the debtor or the bank)",
    read_scope="collections:read",
)
MANDATE_FAILED = register_event_type(
    "mandate.failed",
    "A mandate turned out unusable before anything was collected with it",
    read_scope="collections:read",
)
MANDATE_EXPIRED = register_event_type(
    "mandate.expired",
    "A SEPA mandate expired: no collection presented for 36 months",
    read_scope="collections:read",
)

PLAN_CREATED = register_event_type(
    "payment_plan.created", "A payment plan was agreed", read_scope="collections:read"
)
PLAN_COMPLETED = register_event_type(
    "payment_plan.completed",
    "Every instalment of a payment plan is finished",
    read_scope="collections:read",
)
PLAN_CANCELLED = register_event_type(
    "payment_plan.cancelled", "A payment plan was cancelled", read_scope="collections:read"
)

INSTALMENT_SUBMITTED = register_event_type(
    "instalment.submitted",
    "An instalment was presented for collection (with its debit date)",
    read_scope="collections:read",
)
INSTALMENT_COLLECTED = register_event_type(
    "instalment.collected",
    "An instalment was collected (provisional until the return window)",
    read_scope="collections:read",
)
INSTALMENT_FAILED = register_event_type(
    "instalment.failed",
    'An instalment was rejected or returned; "retry_on" says when it is presented again',
    read_scope="collections:read",
)

DUNNING_STEP = register_event_type(
    "dunning.step",
    "A debt in arrears reached a step of the agency's dunning ladder",
    read_scope="collections:read",
)

RUN_COMPLETED = register_event_type(
    "collection_run.completed",
    "A collection run finished, with its totals",
    read_scope="collections:read",
)
RUN_FAILED = register_event_type(
    "collection_run.failed",
    "A collection run could not run (e.g. creditor details missing)",
    read_scope="collections:read",
)

INSTALMENT_ADVANCE_NOTICE_DUE = register_event_type(
    "instalment.advance_notice_due",
    "The debtor must now be told the amount and date of an instalment's debit "
    "(agencies with advance_notices_by_hub: the hub emails the notice itself)",
    read_scope="collections:read",
)
INSTALMENT_RESCHEDULED = register_event_type(
    "instalment.rescheduled",
    'An instalment moved to a later due date; "reason": advance_notice_not_sent means '
    "its advance notice did not go out in time, so it was not collected",
    read_scope="collections:read",
)
