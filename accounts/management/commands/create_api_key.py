from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.roles import ALL_SCOPES
from accounts.services import api_key_create
from accounts.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Create an API key in a workspace and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Workspace slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", nargs="+", required=True, help=f"Any of: {' '.join(ALL_SCOPES)}")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"].lower(), ready=True).first()
        if tenant is None:
            raise CommandError(f"No ready workspace with slug {options['tenant']!r}.")
        scopes = [s for item in options["scopes"] for s in item.split(",") if s]
        with schema_context(tenant.schema_name):
            try:
                key, secret = api_key_create(name=options["name"], scopes=scopes, created_by=None)
            except ValidationError as exc:
                lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
                raise CommandError("\n".join(lines)) from exc
        self.stderr.write(f"Key {key.prefix} ({', '.join(key.scopes)}) created in {tenant.slug}.")
        self.stdout.write(secret)
