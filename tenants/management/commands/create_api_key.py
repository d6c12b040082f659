from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.models import ApiKey, Tenant


class Command(BaseCommand):
    help = (
        "Issue an API key for an agency. The secret is printed alone on the last line "
        "and never again."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="API key")
        parser.add_argument(
            "--scopes",
            nargs="+",
            choices=ApiKey.Scope.values,
            help="Default: every scope",
        )

    def handle(self, *args, slug, name, scopes, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No agency with slug '{slug}'")
        issued = services.issue_api_key(tenant=tenant, name=name, scopes=scopes)
        self.stdout.write(
            f"API key {issued.api_key.prefix} for {tenant.name}, scopes: "
            f"{' '.join(issued.api_key.scopes)}. Store the secret now; it is not shown again:"
        )
        self.stdout.write(issued.secret)
