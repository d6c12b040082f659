from django.core.management.base import BaseCommand

from tenants.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load three demo agencies with services, API keys and staff users (idempotent)."

    def handle(self, *args, **options):
        for agency in load_demo():
            self.stdout.write(
                f"{agency.tenant.name:<28} slug={agency.tenant.slug:<18} "
                f"staff={agency.staff_username} / {DEMO_PASSWORD}\n    API key: {agency.api_key}"
            )
        self.stdout.write(f"Hub operator: operator / {DEMO_PASSWORD}")
