from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Onboard an agency: python manage.py create_tenant <slug> --name '<name>'"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--contact-email", default="")

    def handle(self, *args, slug, name, currency, contact_email, **options):
        if Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"An agency with slug '{slug}' already exists")
        tenant = services.create_tenant(
            slug=slug, name=name, default_currency=currency, contact_email=contact_email
        )
        self.stdout.write(f"Created agency {tenant.name} ({tenant.slug}, {tenant.pk})")
