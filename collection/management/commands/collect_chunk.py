"""Work collection chunks in this process: an operator's tool, and what the tests kill.

    python manage.py collect_chunk --run run_…            # every pending chunk, then finish
    python manage.py collect_chunk 12 13                   # these chunks only
    python manage.py collect_chunk --run run_… --throttle-ms 50   # go easy on a busy database

Safe to run while Celery workers work the same run, and to run again after a crash: an
instalment is presented at most once (see collection/services/runs.py).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from collection.models import CollectionChunk, CollectionRun
from collection.services import runs
from tenants.scope import all_tenants, tenant_scope


class Command(BaseCommand):
    help = "Present the due instalments of collection run chunks (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("chunk_ids", nargs="*", type=int, help="Chunk ids to work")
        parser.add_argument("--run", dest="run_id", help="Work every pending chunk of this run")
        parser.add_argument("--batch-size", type=int, default=runs.BATCH_SIZE)
        parser.add_argument(
            "--throttle-ms", type=int, default=0, help="Pause between batches (milliseconds)"
        )

    def handle(self, *args, chunk_ids, run_id, batch_size, throttle_ms, **options):
        if not chunk_ids and not run_id:
            raise CommandError("give chunk ids or --run")
        # An operator names chunks or a run by id, not an agency: find them across agencies,
        # then work each chunk in its own agency's scope below.
        with all_tenants():
            if run_id:
                run = CollectionRun.objects.select_related("tenant").filter(pk=run_id).first()
                if run is None:
                    raise CommandError(f"no collection run {run_id}")
                chunks = list(run.chunks.filter(state=CollectionChunk.State.PENDING))
            else:
                chunks = list(
                    CollectionChunk.objects.select_related("run__tenant").filter(pk__in=chunk_ids)
                )
                missing = set(chunk_ids) - {c.pk for c in chunks}
                if missing:
                    raise CommandError(f"no such chunks: {sorted(missing)}")
        for chunk in chunks:
            with tenant_scope(chunk.run.tenant):
                outcome = runs.collect_chunk(
                    chunk=chunk, batch_size=batch_size, throttle=throttle_ms / 1000
                )
                self.stdout.write(
                    f"chunk {chunk.pk}: submitted {outcome.submitted}, declined "
                    f"{outcome.declined}, refused {outcome.refused}, waiting {outcome.waiting}"
                    f"{', paused' if outcome.paused else ''}{', done' if outcome.done else ''}"
                )
                if outcome.done:
                    run = runs.finish_run(run=chunk.run)
                    self.stdout.write(f"run {run.pk}: {run.state}")
