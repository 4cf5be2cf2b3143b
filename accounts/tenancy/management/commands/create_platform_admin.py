from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.tenancy.services import platform_admin_create


class Command(BaseCommand):
    help = "Create (or reset the password of) a platform admin, who manages tenants on the public host."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, **options):
        try:
            admin = platform_admin_create(email=options["email"], password=options["password"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Platform admin {admin.email} can sign in at /console/."))
