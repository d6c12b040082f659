"""Collection runs: pick what is due, present it in parallel chunks, never twice.

How a run works
---------------
1. ``start_run`` (one transaction) selects the instalments whose last submission day has
   come (see ``selectors.due_instalments``), writes the run and its chunks (lists of
   instalment ids, ``chunk_size`` each) and, on commit, queues one Celery task per chunk.
2. ``collect_chunk`` works a chunk in small batches. Each batch is one transaction that
   locks up to ``batch_size`` of the chunk's instalments that are still due with
   ``SELECT … FOR UPDATE SKIP LOCKED`` and, for each, creates the payment through the
   payments services, writes the attempt (unique per instalment and attempt number) and
   moves the instalment to ``submitted``. Any number of workers may work the same chunk
   (a redelivered task, the sweeper, an operator's command): a row one worker holds is
   skipped by the others, and once its transaction commits the instalment is no longer due,
   so no second worker can pick it. The unique attempt constraint is the last line of
   defence: if it ever fires, the batch rolls back and the task fails loudly.
3. Bank files need no outside call, so the batch also submits the payment. Stripe does:
   the batch only claims (attempt ``pending``); the PaymentIntent is confirmed after the
   commit, with an idempotency key derived from (instalment, attempt number), and a second
   short transaction records the result. A worker killed in between leaves a ``pending``
   attempt that the next worker on the chunk resumes with the same key, so Stripe returns
   the same PaymentIntent instead of debiting twice.
4. A worker killed mid-batch loses only that batch's uncommitted transaction: the row
   locks go with its connection and the instalments are due again for the next worker.
   Each batch and each provider answer stamps the chunk's ``progressed_at``; the sweeper
   (``resume_stalled_runs``, beat) requeues a pending chunk that has been quiet for
   ``STALLED_AFTER``. The cut-off can be short because requeueing a chunk that a slow
   worker still works is harmless (the row locks above), while a dead worker's message
   would otherwise wait in Redis for the broker's visibility timeout (hours).
   A chunk is ``done`` when nothing in it is due and nothing is pending.
5. ``finish_run`` runs after every chunk; under a lock on the run row, the first call that
   finds every chunk done writes the bank file (if any), the totals and the
   ``collection_run.completed`` event. Later calls see the run completed and do nothing.

On SQLite (the zero-server default) ``FOR UPDATE`` is a no-op, but writes are serialised
by the database lock (transactions begin IMMEDIATE), which gives the same guarantee.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass

from celery import current_app
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from collection import events
from collection.models import (
    CollectionAttempt,
    CollectionChunk,
    CollectionRun,
    CollectionSettings,
    Instalment,
    Mandate,
)
from collection.providers import (
    CollectionProviderPlugin,
    ProviderUnavailable,
    RunFile,
    SubmissionDeclined,
    get_collector,
)
from collection.schemes import (
    Pain008Error,
    Scheme,
    SequenceType,
    latest_run_date,
    run_collection_date,
)
from collection.selectors import OPEN_INSTALMENT_STATES, collection_settings, due_instalments
from collection.services import advance_notices, debts
from collection.services.payloads import instalment_payload, run_payload
from hub import bulk
from hub.errors import HubError, RuleViolation
from hub.events.outbox import EventSpec, publish, publish_batched
from payments import services as payments
from payments.models import PaymentMethod
from tenants.models import Service, Tenant

logger = logging.getLogger(__name__)

# The Celery task that works one chunk (collection/tasks.py).
COLLECT_CHUNK_TASK = "collection.collect_chunk"

# Instalments one batch locks and writes (half of a default chunk of 500). Each batch
# costs a dozen statements whatever its size, and a killed worker loses at most one.
BATCH_SIZE = 250
# A chunk with no progress for this long has lost its worker. Progress is stamped after
# every batch (a few seconds of database work) and every provider call (Stripe's client
# gives up after 80 s), so two minutes of silence is no slow worker but a dead one.
STALLED_AFTER = dt.timedelta(seconds=int(django_settings.HUB_COLLECTION_STALLED_AFTER_SECONDS))

R = CollectionRun.State
A = CollectionAttempt.State


class DuplicateAttempt(RuntimeError):
    """The unique (instalment, attempt number) constraint refused a second presentation."""


@dataclass
class ChunkOutcome:
    submitted: int = 0
    declined: int = 0
    refused: int = 0
    waiting: int = 0  # Stripe could not be asked; the attempt stays pending for a retry
    paused: bool = False
    done: bool = False


def start_run(
    *,
    tenant: Tenant,
    run_date: dt.date,
    trigger: str,
    record_refusal: bool = False,
    enqueue: bool = True,
) -> CollectionRun:
    """Create a run for ``run_date`` and its chunks; queue the chunks once committed.

    A run dated beyond today plus the scheme lead time, a paused agency or an incomplete
    set-up is refused (422). The daily schedule passes
    ``record_refusal`` so that a set-up problem that holds up due instalments leaves a
    failed run operators can see.
    A scheduled run exists once per agency and day: asking again returns it.
    """
    settings = collection_settings(tenant)
    today = timezone.localdate()
    latest = latest_run_date(today, buffer_days=settings.submission_buffer_days)
    if run_date > latest:
        raise RuleViolation(
            f"A collection run can be dated at most {latest.isoformat()} (today plus the "
            "scheme lead time): a later run would present instalments that are not due yet",
            code="run_date_too_far_ahead",
            field="run_date",
        )
    if settings.runs_paused:
        raise RuleViolation(
            f"Collection runs are paused for this agency: {settings.paused_reason or 'paused'}",
            code="runs_paused",
        )
    collector = get_collector(settings.provider)
    problems = collector.readiness_problems(tenant=tenant, settings=settings)
    # A failed run is recorded only when the set-up problem stops a real collection: an
    # agency that does not use collections must not get a failed run every business day.
    if problems and not (record_refusal and due_instalments(tenant, run_date).exists()):
        raise RuleViolation(
            "Collection settings are incomplete: " + "; ".join(problems),
            code="collection_settings_incomplete",
        )
    with transaction.atomic():
        if trigger == CollectionRun.Trigger.SCHEDULE:
            existing = CollectionRun.objects.filter(
                tenant=tenant, run_date=run_date, trigger=trigger
            ).first()
            if existing is not None:
                return existing
        try:
            with transaction.atomic():
                run = CollectionRun.objects.create(
                    tenant=tenant, run_date=run_date, trigger=trigger, provider=settings.provider
                )
        except IntegrityError:
            # The same scheduled run, started concurrently (a redelivered beat task).
            return CollectionRun.objects.get(tenant=tenant, run_date=run_date, trigger=trigger)
        if problems:
            _fail(run, "Collection settings are incomplete: " + "; ".join(problems))
            return run
        # Never a debit the debtor was not told of in time: those move, and say so.
        advance_notices.hold_unnoticed_instalments(tenant=tenant, run_date=run_date)
        ids = list(
            due_instalments(tenant, run_date)
            .order_by("submit_on", "pk")
            .values_list("pk", flat=True)
        )
        size = settings.chunk_size
        chunks = CollectionChunk.objects.bulk_create(
            CollectionChunk(tenant=tenant, run=run, number=n, instalment_ids=ids[i : i + size])
            for n, i in enumerate(range(0, len(ids), size), start=1)
        )
        run.selected_count = len(ids)
        run.save(update_fields=["selected_count"])
        if not ids:
            _complete(run)
        elif enqueue:
            chunk_ids = [chunk.pk for chunk in chunks]
            transaction.on_commit(lambda: _enqueue_chunks(chunk_ids))
    return run


def _enqueue_chunks(chunk_ids: list[int]) -> None:
    # The task is looked up by name, as its shared_task proxy does anyway: tasks.py
    # imports this module, so importing tasks.py here would be an import circle.
    # collection/apps.py imports tasks.py at start-up, so the name is registered.
    collect_chunk_task = current_app.tasks[COLLECT_CHUNK_TASK]
    for chunk_id in chunk_ids:
        try:
            collect_chunk_task.delay(chunk_id)
        except Exception:
            # The sweeper requeues chunks of unfinished runs; a broker hiccup delays only.
            logger.warning("could not enqueue collection chunk %s", chunk_id)


def _runs_paused(tenant_id: str) -> bool:
    return CollectionSettings.objects.filter(tenant_id=tenant_id, runs_paused=True).exists()


def _due_in_chunk(run: CollectionRun, chunk: CollectionChunk):
    # One array parameter (``__any``, hub/id_lists.py), not 500 placeholders.
    return due_instalments(run.tenant, run.run_date).filter(pk__any=chunk.instalment_ids)


def collect_chunk(
    *,
    chunk: CollectionChunk,
    batch_size: int = BATCH_SIZE,
    throttle: float = 0.0,
    one_by_one: bool = False,
) -> ChunkOutcome:
    """Present every still-due instalment of ``chunk``. Safe to run twice, or at once.

    ``one_by_one`` presents through the single-payment services (see ``_claim_batch``).
    """
    outcome = ChunkOutcome()
    chunk = CollectionChunk.objects.select_related("run__tenant").get(pk=chunk.pk)
    run = chunk.run
    if chunk.state == CollectionChunk.State.DONE or run.state != R.RUNNING:
        outcome.done = chunk.state == CollectionChunk.State.DONE
        return outcome
    collector = get_collector(run.provider)
    settings = collection_settings(run.tenant)
    _mark_progress(chunk)
    _resume_pending(run, chunk, collector, outcome)
    while True:
        if _runs_paused(run.tenant_id):
            outcome.paused = True
            return outcome
        claimed = _claim_batch(
            run, chunk, collector, settings, batch_size, outcome, one_by_one=one_by_one
        )
        if claimed is None:
            break
        _mark_progress(chunk)
        waiting = outcome.waiting
        for attempt in claimed:
            _submit_externally(attempt, collector, outcome)
            _mark_progress(chunk)
        if outcome.waiting > waiting:
            break  # the provider is down: claim no more until the sweeper tries again
        if throttle:
            time.sleep(throttle)
    outcome.done = _close_chunk_if_finished(run, chunk)
    return outcome


def _mark_progress(chunk: CollectionChunk) -> None:
    """Tell the sweeper this chunk has a live worker (see ``take_stalled_chunk_ids``)."""
    CollectionChunk.objects.filter(pk=chunk.pk).update(progressed_at=timezone.now())


def _claim_batch(
    run: CollectionRun,
    chunk: CollectionChunk,
    collector: CollectionProviderPlugin,
    settings: CollectionSettings,
    batch_size: int,
    outcome: ChunkOutcome,
    *,
    one_by_one: bool = False,
) -> list[CollectionAttempt] | None:
    """One transaction: lock up to ``batch_size`` due instalments and present them.

    Returns the attempts still to hand to an external provider, or None when nothing in
    the chunk could be locked (all presented, or held by another worker). The batch is
    written set-based (``_present_batch``: one statement per table); ``one_by_one``
    presents each instalment through the single-payment services instead, the
    reference the bulk path is tested against.
    """
    with transaction.atomic():
        # The claim locks ids only; the rows it locked are then read with what the
        # batch needs (their debt, service, mandate and plan) in one query.
        claimed_ids = list(
            _due_in_chunk(run, chunk)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not claimed_ids:
            return None
        instalments = list(
            Instalment.objects.filter(tenant_id=run.tenant_id, pk__any=claimed_ids)
            .select_related("debt__service", "mandate", "plan")
            # Of the related rows, only what presenting reads (the payment, the sequence
            # type, Stripe's confirmation): 86 columns per row were turned into model
            # fields, among them the mandate's encrypted account numbers (two Fernet
            # decryptions per instalment, unread; the bank file reads the IBANs itself).
            # Any other field still loads if asked for (one query, never a wrong value).
            .only(*_CLAIMED_FIELDS)
            .order_by("pk")
        )
        if one_by_one:
            attempts = [_present(run, i, collector, settings, outcome) for i in instalments]
        else:
            attempts = _present_batch(run, instalments, collector, settings, outcome)
        presented: dict[str, dt.date] = {}
        to_submit: list[CollectionAttempt] = []
        for instalment, attempt in zip(instalments, attempts, strict=True):
            if attempt is None:
                continue
            mandate_id = instalment.mandate_id
            presented[mandate_id] = max(
                attempt.collection_date, presented.get(mandate_id, attempt.collection_date)
            )
            if attempt.state == A.PENDING:
                to_submit.append(attempt)
        _mark_mandates_presented(presented)
    return to_submit


# The instalment's own columns (it is written back), and of its debt, service, mandate
# and plan what ``_present``/``_present_batch``, ``_sequence_type`` and the Stripe
# collector read.
_CLAIMED_FIELDS = (
    *(field.name for field in Instalment._meta.concrete_fields),
    "debt__tenant",
    "debt__constituent",
    "debt__service",
    "debt__reference",
    "debt__description",
    *(f"debt__service__{field.name}" for field in Service._meta.concrete_fields),
    "mandate__tenant",
    "mandate__constituent",
    "mandate__scheme",
    "mandate__usage",
    "mandate__first_collection_presented",
    "mandate__stripe_customer",
    "mandate__stripe_payment_method",
    "mandate__stripe_mandate",
    "plan__tenant",
    "plan__ends_mandate",
)


def _present_batch(
    run: CollectionRun,
    instalments: list[Instalment],
    collector: CollectionProviderPlugin,
    settings: CollectionSettings,
    outcome: ChunkOutcome,
) -> list[CollectionAttempt | None]:
    """``_present`` for a whole locked batch, with the same rows, events and refusals:
    the payments in one call to payments' bulk service, then one INSERT of attempts,
    one UPDATE of instalments and one INSERT of events."""
    attempts = [_new_attempt(run, instalment, settings) for instalment in instalments]
    requests = [
        payments.DirectDebitRequest(
            service=instalment.debt.service,
            amount=attempt.amount,
            currency=attempt.currency,
            description=_payment_description(instalment),
            reference=instalment.debt.reference,
            constituent_id=instalment.debt.constituent_id,
            metadata=_payment_metadata(instalment, attempt),
            # A bank file needs no outside call: the debit is submitted as it is
            # recorded, under the end-to-end id the collector gives it.
            provider_reference="" if collector.external else collector.submit(attempt=attempt),
        )
        for instalment, attempt in zip(instalments, attempts, strict=True)
    ]
    created = payments.create_direct_debits(
        tenant=run.tenant, provider=run.provider, requests=requests
    )
    open_siblings = _open_instalments_per_mandate(instalments)
    presented: list[CollectionAttempt | None] = []
    written: list[tuple[Instalment, CollectionAttempt]] = []
    for instalment, attempt, payment in zip(instalments, attempts, created, strict=True):
        attempt.sequence_type = _sequence_type(instalment, open_siblings)
        if isinstance(payment, HubError):
            _refuse(attempt, instalment, payment, outcome)
            # The refused instalment is no longer open: a later one on the same mandate
            # may now be its last (FNAL), exactly as when presented one by one.
            open_siblings[instalment.mandate_id] -= 1
            presented.append(None)
            continue
        attempt.payment = payment
        if not collector.external:
            attempt.state = A.SUBMITTED
        instalment.state = Instalment.State.SUBMITTED
        written.append((instalment, attempt))
        presented.append(attempt)
    if not written:
        return presented
    _insert_attempts([attempt for _, attempt in written])
    changed = ["state", "attempt_count", "first_presented_on", "updated_at"]
    bulk.update(
        Instalment,
        [{"pk": i.pk, **{name: getattr(i, name) for name in changed}} for i, _ in written],
        changed,
    )
    submitted = [
        EventSpec(
            run.tenant,
            events.INSTALMENT_SUBMITTED,
            instalment.pk,
            instalment_payload(instalment, attempt),
        )
        for instalment, attempt in written
        if attempt.state == A.SUBMITTED
    ]
    if submitted:
        publish_batched(submitted)
    outcome.submitted += len(submitted)
    return presented


def _open_instalments_per_mandate(instalments: list[Instalment]) -> dict[str, int]:
    """Open instalments per mandate of the batch (one query), for ``_sequence_type``."""
    mandate_ids = {instalment.mandate_id for instalment in instalments}
    counts = dict.fromkeys(mandate_ids, 0)
    rows = (
        Instalment.objects.filter(
            tenant_id=instalments[0].tenant_id,
            mandate_id__any=list(mandate_ids),
            state__in=OPEN_INSTALMENT_STATES,
        )
        .values("mandate_id")
        .annotate(open=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["mandate_id"]] = row["open"]
    return counts


def _mark_mandates_presented(presented: dict[str, dt.date]) -> None:
    """FRST is used up, and the SEPA 36-month expiry clock restarts.

    The rows are locked in id order first, so two workers' batches that share a mandate
    wait for each other instead of deadlocking; then one UPDATE per collection date.
    """
    if not presented:
        return
    ids = sorted(presented)
    list(Mandate.objects.select_for_update().filter(pk__any=ids).order_by("pk").values_list("pk"))
    by_day: dict[dt.date, list[str]] = {}
    for mandate_id in ids:
        by_day.setdefault(presented[mandate_id], []).append(mandate_id)
    for day, mandate_ids in by_day.items():
        Mandate.objects.filter(pk__any=mandate_ids).filter(
            Q(last_presented_on__isnull=True) | Q(last_presented_on__lt=day)
        ).update(first_collection_presented=True, last_presented_on=day)


def _sequence_type(instalment: Instalment, open_siblings: dict[str, int] | None = None) -> str:
    """The SEPA sequence type of this presentation (Bacs files carry none: RCUR is stored).

    * a one-off mandate: OOFF, on every attempt (a rejected OOFF is presented again as one);
    * a recurring mandate's first presentation: FRST (even when it is also its last: the
      rulebook has no "first and final", and the plan ends the mandate either way);
    * the last collection of a plan that ends its mandate: FNAL, but only when nothing
      else on the mandate is still open (an earlier instalment waiting for a retry would
      come after it). Since the 2016 rulebook FNAL is optional, so RCUR when in doubt;
    * otherwise RCUR.
    """
    mandate = instalment.mandate
    if Scheme(mandate.scheme) is not Scheme.SEPA_CORE:
        return SequenceType.RECURRING.value
    if mandate.usage == Mandate.Usage.ONE_OFF:
        return SequenceType.ONE_OFF.value
    if not mandate.first_collection_presented:
        return SequenceType.FIRST.value
    if instalment.plan.ends_mandate and not _has_other_open_instalments(instalment, open_siblings):
        return SequenceType.FINAL.value
    return SequenceType.RECURRING.value


def _has_other_open_instalments(
    instalment: Instalment, open_siblings: dict[str, int] | None
) -> bool:
    """Anything else still open on the mandate? ``open_siblings`` (the batch's counts,
    this instalment included) saves the query per instalment."""
    if open_siblings is not None:
        return open_siblings[instalment.mandate_id] > 1
    return (
        Instalment.objects.filter(
            tenant_id=instalment.tenant_id,
            mandate_id=instalment.mandate_id,
            state__in=OPEN_INSTALMENT_STATES,
        )
        .exclude(pk=instalment.pk)
        .exists()
    )


def _end_to_end_id(attempt_id: str) -> str:
    # SEPA identifiers may not contain "_"; "ATT-…" is 28 characters of the allowed set.
    return attempt_id.replace("_", "-").upper()


_ATTEMPT_ATTNAMES = [field.attname for field in CollectionAttempt._meta.concrete_fields]
# Constant defaults once; the id and the timestamps are made for each attempt.
_ATTEMPT_MADE_DEFAULTS = [
    (field.attname, field.default)
    for field in CollectionAttempt._meta.concrete_fields
    if field.has_default() and callable(field.default)
]
_ATTEMPT_DEFAULTS = {
    field.attname: field.get_default()
    for field in CollectionAttempt._meta.concrete_fields
    if not (field.has_default() and callable(field.default))
}
_ATTEMPT_INSTALMENT = CollectionAttempt._meta.get_field("instalment")
_ATTEMPT_RUN = CollectionAttempt._meta.get_field("run")


def _new_attempt(
    run: CollectionRun, instalment: Instalment, settings: CollectionSettings
) -> CollectionAttempt:
    """The next attempt at a locked instalment (unsaved), and the instalment's counters."""
    scheme = Scheme(instalment.scheme)
    number = instalment.attempt_count + 1
    row = {
        **_ATTEMPT_DEFAULTS,
        **{name: make() for name, make in _ATTEMPT_MADE_DEFAULTS},
        "tenant_id": run.tenant_id,
        "instalment_id": instalment.pk,
        "run_id": run.pk,
        "number": number,
        "scheme": scheme.value,
        "amount": instalment.amount,
        "currency": instalment.currency,
        "collection_date": run_collection_date(
            instalment.collect_on,
            run.run_date,
            scheme,
            buffer_days=settings.submission_buffer_days,
        ),
    }
    row["end_to_end_id"] = _end_to_end_id(row["id"])
    # CollectionAttempt(instalment=…, run=…, …) built as Django builds a row it read:
    # every column in order, no per-field default look-up (a batch makes 250).
    attempt = CollectionAttempt(*[row[name] for name in _ATTEMPT_ATTNAMES])
    _ATTEMPT_INSTALMENT.set_cached_value(attempt, instalment)
    _ATTEMPT_RUN.set_cached_value(attempt, run)
    instalment.attempt_count = number
    instalment.first_presented_on = instalment.first_presented_on or attempt.collection_date
    instalment.updated_at = timezone.now()
    return attempt


def _payment_description(instalment: Instalment) -> str:
    return f"{instalment.debt.description} ({instalment.sequence})"[:255]


def _payment_metadata(instalment: Instalment, attempt: CollectionAttempt) -> dict:
    return {
        "collection_attempt": attempt.pk,
        "instalment": instalment.pk,
        "debt": instalment.debt_id,
        "end_to_end_id": attempt.end_to_end_id,
    }


def _present(
    run: CollectionRun,
    instalment: Instalment,
    collector: CollectionProviderPlugin,
    settings: CollectionSettings,
    outcome: ChunkOutcome,
) -> CollectionAttempt | None:
    """Write the attempt and its payment for one locked instalment through the
    single-payment services (the reference for ``_present_batch``)."""
    debt = instalment.debt
    attempt = _new_attempt(run, instalment, settings)
    attempt.sequence_type = _sequence_type(instalment)
    try:
        payment = payments.create_payment(
            tenant=run.tenant,
            service=debt.service,
            amount=attempt.amount,
            currency=attempt.currency,
            description=_payment_description(instalment),
            reference=debt.reference,
            method=PaymentMethod.DIRECT_DEBIT,
            constituent=debt.constituent_id,
            metadata=_payment_metadata(instalment, attempt),
            provider=run.provider,
        )
    except HubError as exc:
        _refuse(attempt, instalment, exc, outcome)
        return None
    attempt.payment = payment
    if not collector.external:
        payments.submit_direct_debit(
            payment=payment, provider_reference=collector.submit(attempt=attempt)
        )
        attempt.state = A.SUBMITTED
    _insert_attempt(attempt)
    instalment.state = Instalment.State.SUBMITTED
    instalment.save(update_fields=["state", "attempt_count", "first_presented_on", "updated_at"])
    if attempt.state == A.SUBMITTED:
        _publish_submitted(instalment, attempt)
        outcome.submitted += 1
    return attempt


def _insert_attempt(attempt: CollectionAttempt) -> None:
    """The unique (instalment, number) index is the last line of defence: the row lock
    already keeps a second worker away, so a violation is a bug, and it fails the whole
    batch (no savepoint: the transaction is aborted and rolls back) rather than skip."""
    try:
        attempt.save(force_insert=True)
    except IntegrityError as exc:
        logger.error("%s attempt %s exists already", attempt.instalment_id, attempt.number)
        raise DuplicateAttempt(
            f"{attempt.instalment_id} attempt {attempt.number} was presented before"
        ) from exc


def _insert_attempts(attempts: list[CollectionAttempt]) -> None:
    """``_insert_attempt`` for a batch: one INSERT, the same last line of defence."""
    try:
        bulk.insert_objects(CollectionAttempt, attempts)
    except IntegrityError as exc:
        logger.error("a batch of %d attempts collides with earlier ones", len(attempts))
        raise DuplicateAttempt("an instalment of this batch was presented before") from exc


def _refuse(attempt, instalment, exc: HubError, outcome: ChunkOutcome) -> None:
    """Payments refused the collection (service closed, registration ended …): this
    instalment stops here for a caseworker, like a STOP return code."""
    attempt.state = A.FAILED
    attempt.failure_code = exc.code[:50]
    attempt.failure_action = "stop"
    attempt.provider_error = exc.message[:500]
    attempt.failed_at = timezone.now()
    _insert_attempt(attempt)
    instalment.state = Instalment.State.FAILED
    instalment.last_failure_code = attempt.failure_code
    instalment.save(
        update_fields=[
            "state",
            "attempt_count",
            "first_presented_on",
            "last_failure_code",
            "updated_at",
        ]
    )
    debts.put_in_arrears(debts.lock_debt(instalment.debt_id), since=timezone.localdate())
    publish(
        tenant=instalment.tenant,
        type=events.INSTALMENT_FAILED,
        subject_id=instalment.pk,
        payload={
            **instalment_payload(instalment, attempt),
            "reason_code": attempt.failure_code,
            "action": "stop",
            "final": True,
            "retry_on": None,
        },
    )
    outcome.refused += 1


def _publish_submitted(instalment: Instalment, attempt: CollectionAttempt) -> None:
    publish(
        tenant=instalment.tenant,
        type=events.INSTALMENT_SUBMITTED,
        subject_id=instalment.pk,
        payload=instalment_payload(instalment, attempt),
    )


def _resume_pending(run, chunk, collector, outcome: ChunkOutcome) -> None:
    """Attempts a killed worker claimed but never handed to the provider."""
    pending = CollectionAttempt.objects.filter(
        tenant_id=run.tenant_id,
        run=run,
        state=A.PENDING,
        instalment_id__any=chunk.instalment_ids,
    ).select_related("instalment__debt", "instalment__mandate", "payment__provider_account")
    for attempt in pending:
        _submit_externally(attempt, collector, outcome)
        _mark_progress(chunk)


def _submit_externally(attempt, collector, outcome: ChunkOutcome) -> None:
    try:
        reference = collector.submit(attempt=attempt)
    except ProviderUnavailable as exc:
        CollectionAttempt.objects.filter(pk=attempt.pk).update(provider_error=str(exc)[:500])
        outcome.waiting += 1
        return
    except SubmissionDeclined as exc:
        with transaction.atomic():
            locked = _lock_pending(attempt)
            if locked is None:
                return
            # Submitted, and refused: the payment fails and the return rules take over
            # (the collection app applies them when payments publishes payment.failed).
            locked.state = A.SUBMITTED
            locked.provider_error = f"{exc.code}: {exc.message}"[:500]
            locked.save(update_fields=["state", "provider_error"])
            payments.fail_direct_debit(payment=locked.payment, code=exc.code, message=exc.message)
        outcome.declined += 1
        return
    with transaction.atomic():
        locked = _lock_pending(attempt)
        if locked is None:
            return
        payments.submit_direct_debit(payment=locked.payment, provider_reference=reference)
        locked.state = A.SUBMITTED
        locked.provider_error = ""
        locked.save(update_fields=["state", "provider_error"])
        _publish_submitted(locked.instalment, locked)
    outcome.submitted += 1


def _lock_pending(attempt: CollectionAttempt) -> CollectionAttempt | None:
    return (
        CollectionAttempt.objects.select_for_update(of=("self",))
        .select_related("instalment", "payment")
        .filter(pk=attempt.pk, state=A.PENDING)
        .first()
    )


def _close_chunk_if_finished(run: CollectionRun, chunk: CollectionChunk) -> bool:
    if _due_in_chunk(run, chunk).exists():
        return False  # held by another worker, which closes the chunk when it is done
    pending = CollectionAttempt.objects.filter(
        tenant_id=run.tenant_id, run=run, state=A.PENDING, instalment_id__any=chunk.instalment_ids
    ).exists()
    if pending:
        return False
    CollectionChunk.objects.filter(pk=chunk.pk, state=CollectionChunk.State.PENDING).update(
        state=CollectionChunk.State.DONE, completed_at=timezone.now()
    )
    return True


def finish_run(*, run: CollectionRun) -> CollectionRun:
    """Complete the run once every chunk is done: the file, the totals, the event."""
    with transaction.atomic():
        run = CollectionRun.objects.select_for_update().select_related("tenant").get(pk=run.pk)
        if run.state != R.RUNNING:
            return run
        if run.chunks.filter(state=CollectionChunk.State.PENDING).exists():
            return run
        collector = get_collector(run.provider)
        try:
            bank_file = collector.run_file(run=run, settings=collection_settings(run.tenant))
        except Pain008Error as exc:
            _fail(run, f"The bank file could not be written: {exc}")
            return run
        if bank_file is not None:
            _store_file(run, bank_file)
        _complete(run)
    return run


def _store_file(run: CollectionRun, bank_file: RunFile) -> None:
    """The provider's file of the run, stored encrypted beside it (bank_file_storage)."""
    run.file.save(f"{run.tenant.slug}/{run.pk}.xml", ContentFile(bank_file.content), save=False)
    run.file_sha256 = hashlib.sha256(bank_file.content).hexdigest()
    run.file_message_id = bank_file.message_id
    run.save(update_fields=["file", "file_sha256", "file_message_id"])


def _complete(run: CollectionRun) -> None:
    attempts = CollectionAttempt.objects.filter(tenant_id=run.tenant_id, run=run)
    accepted = attempts.exclude(payment=None).filter(provider_error="")
    totals = {
        row["currency"]: {"count": row["count"], "amount": row["amount"] or 0}
        for row in accepted.values("currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("currency")
    }
    run.totals = totals
    run.submitted_count = sum(t["count"] for t in totals.values())
    run.declined_count = attempts.count() - run.submitted_count
    run.state = R.COMPLETED
    run.completed_at = timezone.now()
    run.save(update_fields=["totals", "submitted_count", "declined_count", "state", "completed_at"])
    publish(
        tenant=run.tenant,
        type=events.RUN_COMPLETED,
        subject_id=run.pk,
        payload=run_payload(run),
    )


def _fail(run: CollectionRun, error: str) -> None:
    run.state = R.FAILED
    run.error = error[:5000]
    run.completed_at = timezone.now()
    run.save(update_fields=["state", "error", "completed_at"])
    publish(tenant=run.tenant, type=events.RUN_FAILED, subject_id=run.pk, payload=run_payload(run))


def process_run(
    *,
    run: CollectionRun,
    batch_size: int = BATCH_SIZE,
    throttle: float = 0.0,
    chunk_numbers: set[int] | None = None,
    one_by_one: bool = False,
) -> CollectionRun:
    """Work every chunk of ``run`` in this process, then finish it (the management
    command, tests; production queues one task per chunk instead)."""
    chunks = CollectionChunk.objects.filter(
        tenant_id=run.tenant_id, run=run, state=CollectionChunk.State.PENDING
    ).order_by("number")
    for chunk in list(chunks):
        if chunk_numbers is None or chunk.number in chunk_numbers:
            collect_chunk(
                chunk=chunk, batch_size=batch_size, throttle=throttle, one_by_one=one_by_one
            )
    return finish_run(run=run)


def take_stalled_chunk_ids(*, tenant: Tenant, now: dt.datetime) -> list[int]:
    """Pending chunks nobody has worked for ``STALLED_AFTER`` (since the run started, if
    no worker ever took them): their worker died, or the broker lost the task.

    They are stamped as progressed now, for the sweeper is about to requeue them: a chunk
    still waiting in a long queue is requeued once per ``STALLED_AFTER``, not at every
    sweep. Requeueing a chunk someone is still working is harmless."""
    cutoff = now - STALLED_AFTER
    with transaction.atomic():
        ids = list(
            CollectionChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(tenant=tenant, state=CollectionChunk.State.PENDING, run__state=R.RUNNING)
            .filter(
                Q(progressed_at__lte=cutoff)
                | Q(progressed_at__isnull=True, run__created_at__lte=cutoff)
            )
            .values_list("pk", flat=True)
        )
        CollectionChunk.objects.filter(pk__in=ids).update(progressed_at=now)
    return ids


def unfinished_runs(*, tenant: Tenant) -> list[CollectionRun]:
    """Running runs with every chunk done: the task that should have finished them died."""
    return list(
        CollectionRun.objects.filter(tenant=tenant, state=R.RUNNING).exclude(
            chunks__state=CollectionChunk.State.PENDING
        )
    )
