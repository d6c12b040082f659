"""``manage.py export_subject_access``: a person's subject-access export (GDPR art. 15)."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from hub.models import AuditEntry
from registration import selectors, services
from registration.models import Constituent
from registration.rules import identifiers


class Command(BaseCommand):
    help = (
        "Export everything the hub holds on one person (GDPR article 15) as JSON or a "
        "readable HTML page. Audited in every agency the export names."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--constituent", help="The record's id (con_…)")
        who.add_argument(
            "--identifier",
            help="<scheme>:<number>, e.g. nl_bsn:111222333 (the person's own identifier)",
        )
        parser.add_argument("--format", choices=["json", "html"], default="json")
        parser.add_argument(
            "--output", help="Write to this file (default: standard output)", default=None
        )

    def handle(self, *args, **options):
        constituent = self._find(options)
        operator = getpass.getuser()
        exported = services.export_subject_access(
            constituent=constituent,
            actor_kind=AuditEntry.ActorKind.SYSTEM,
            actor_id=operator,
            actor_label=f"manage.py export_subject_access ({operator})",
            channel=f"management command ({options['format']})",
        )
        body = exported.json_bytes if options["format"] == "json" else exported.html.encode()
        if options["output"]:
            Path(options["output"]).write_bytes(body)
            self.stderr.write(
                f"Wrote {len(body)} bytes to {options['output']} (sha256 of the JSON: "
                f"{exported.sha256})"
            )
        else:
            self.stdout.write(body.decode())

    def _find(self, options) -> Constituent:
        if options["constituent"]:
            constituent = Constituent.objects.filter(pk=options["constituent"]).first()
        else:
            scheme, _, raw = options["identifier"].partition(":")
            try:
                normalised = identifiers.normalise(scheme, raw)
            except identifiers.IdentifierError as exc:
                raise CommandError(exc.message) from exc
            constituent = Constituent.objects.filter(
                identifiers__lookup_hash=selectors.identifier_hash(scheme, normalised)
            ).first()
        if constituent is None:
            raise CommandError("The hub holds no record of that person")
        return constituent
