"""Every write reconciliation makes: the one module the API, the admin, tasks and other
apps import from. The work lives in one module per subject:

imports          bank statement files (camt.053, MT940): parsed, checked, stored once
stripe_payouts   a paid Stripe payout and its balance transactions, as a "statement"
runs             a reconciliation run: match, report the period, commit batch by batch
match_writer     matches written in bulk, and the bank movement payments posts for them
exception_book   one exception per problem, announced once
resolutions      a finance user settles an exception
agency_settings  the agency's tolerances (created on first write, edited)
daily            the cross-agency daily jobs (payout sweep, yesterday's runs)

How lines are matched is decided by the pure rules in reconciliation/engine/; what
reconciliation reads is in reconciliation/selectors/.
"""

from reconciliation.services.agency_settings import update_settings
from reconciliation.services.daily import (
    reconcile_yesterday_for_every_agency,
    sweep_payouts_for_every_agency,
)
from reconciliation.services.imports import ImportResult, StatementRejected, import_statement_file
from reconciliation.services.resolutions import resolve_exception
from reconciliation.services.runs import restart_stale_runs, start_run
from reconciliation.services.stripe_payouts import (
    PayoutImportError,
    import_stripe_payout,
    sweep_stripe_payouts,
)

__all__ = [
    "ImportResult",
    "PayoutImportError",
    "StatementRejected",
    "import_statement_file",
    "import_stripe_payout",
    "reconcile_yesterday_for_every_agency",
    "resolve_exception",
    "restart_stale_runs",
    "start_run",
    "sweep_payouts_for_every_agency",
    "sweep_stripe_payouts",
    "update_settings",
]
