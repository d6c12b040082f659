"""Direct-debit scheme rules (SEPA Core, Bacs) for the collections app.

Pure Python on purpose: no Django imports, so the rules can be unit-tested without a database
and reused by workers. Amounts are always int minor units.
"""

from .accounts import (
    AccountError,
    mask_account,
    validate_bacs_account,
    validate_bic,
    validate_creditor_id,
    validate_iban,
)
from .advance_notice import (
    DEFAULT_NOTICE_DAYS,
    earliest_noticed_due_date,
    notice_deadline,
    notice_is_timely,
    notice_period_error,
    notice_window_opens,
    rescheduled_due_date,
)
from .calendars import (
    Scheme,
    add_business_days,
    is_business_day,
    next_business_day,
    previous_business_day,
    subtract_business_days,
)
from .camt054 import Camt054Error, DebitCreditNotification, NotifiedReturn, parse_camt054
from .charset import EPC_BASIC_LATIN, to_epc_text
from .lead_times import (
    earliest_settlement_date,
    is_due_for_submission,
    latest_run_date,
    refund_right_end,
    return_window_end,
    run_collection_date,
    settlement_date,
    submission_date,
)
from .mandates import (
    BACS_LODGEMENT_BUSINESS_DAYS,
    SEPA_MANDATE_EXPIRY_MONTHS,
    mandate_usable_from,
    sepa_mandate_expiry,
)
from .pain002 import (
    Pain002Error,
    PaymentInfoStatus,
    StatusReport,
    TransactionStatus,
    parse_pain002,
    rejections,
)
from .pain008 import (
    DEFAULT_PAIN008_VERSION,
    CreditorConfig,
    DebitCollection,
    Pain008Error,
    Pain008Version,
    SequenceType,
    build_pain008,
    presented_batches,
    validate_pain008,
)
from .provider_codes import scheme_reason_code
from .return_codes import RetryPolicy, ReturnAction, ReturnRule, rule_for
from .splitting import (
    Frequency,
    ScheduleError,
    add_months,
    schedule_dates,
    split_evenly,
    validate_explicit,
)

__all__ = [
    "BACS_LODGEMENT_BUSINESS_DAYS",
    "DEFAULT_NOTICE_DAYS",
    "DEFAULT_PAIN008_VERSION",
    "EPC_BASIC_LATIN",
    "SEPA_MANDATE_EXPIRY_MONTHS",
    "AccountError",
    "Camt054Error",
    "CreditorConfig",
    "DebitCollection",
    "DebitCreditNotification",
    "Frequency",
    "NotifiedReturn",
    "Pain002Error",
    "Pain008Error",
    "Pain008Version",
    "PaymentInfoStatus",
    "RetryPolicy",
    "ReturnAction",
    "ReturnRule",
    "ScheduleError",
    "Scheme",
    "SequenceType",
    "StatusReport",
    "TransactionStatus",
    "add_business_days",
    "add_months",
    "build_pain008",
    "earliest_noticed_due_date",
    "earliest_settlement_date",
    "is_business_day",
    "is_due_for_submission",
    "latest_run_date",
    "mandate_usable_from",
    "mask_account",
    "next_business_day",
    "notice_deadline",
    "notice_is_timely",
    "notice_period_error",
    "notice_window_opens",
    "parse_camt054",
    "parse_pain002",
    "presented_batches",
    "previous_business_day",
    "refund_right_end",
    "rejections",
    "rescheduled_due_date",
    "return_window_end",
    "rule_for",
    "run_collection_date",
    "schedule_dates",
    "scheme_reason_code",
    "sepa_mandate_expiry",
    "settlement_date",
    "split_evenly",
    "submission_date",
    "subtract_business_days",
    "to_epc_text",
    "validate_bacs_account",
    "validate_bic",
    "validate_creditor_id",
    "validate_explicit",
    "validate_iban",
    "validate_pain008",
]
