"""Re-encrypt stored secrets under the first key of HUB_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from hub import key_rotation


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (webhook and provider secrets, national identifiers, "
        "account numbers) under the first key of HUB_ENCRYPTION_KEYS, so that older keys "
        "can be removed. --check only counts what is not under the first key yet."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="count values not under the current key; change nothing (exit 1 if any)",
        )

    def handle(self, *args, check: bool, **options):
        reports = key_rotation.check() if check else key_rotation.reencrypt_all()
        for report in reports:
            done = "" if check else f", re-encrypted {report.reencrypted}"
            self.stdout.write(
                f"{report.label}: {report.stored} stored, {report.stale} under an older key{done}"
            )
        stale = sum(report.stale for report in reports)
        if check and stale:
            self.stderr.write(f"{stale} value(s) still need an older key: run without --check")
            raise SystemExit(1)
        if not check:
            self.stdout.write("Every stored secret is now under the current key.")
