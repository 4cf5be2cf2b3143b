from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.tenancy.links import workspace_url
from accounts.tenancy.services import tenant_create


class Command(BaseCommand):
    help = "Create and provision a workspace with its first admin, without prompting."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="Subdomain, e.g. acme")
        parser.add_argument("--name", required=True, help="Company name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="")
        parser.add_argument("--admin-password", default=None, help="Generated and printed when omitted")

    def handle(self, *args, **options):
        password = options["admin_password"] or secrets.token_urlsafe(12)
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                admin_name=options["admin_name"],
                admin_password=password,
            )
        except ValidationError as exc:
            lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
            raise CommandError("Workspace not created.\n" + "\n".join(lines)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Workspace {tenant.slug} is ready: {workspace_url(tenant.slug)}")
        )
        self.stdout.write(f"Admin: {options['admin_email']}")
        if not options["admin_password"]:
            self.stdout.write(f"Generated password: {password}")
