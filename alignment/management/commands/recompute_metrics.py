"""Recompute every stored metric of one workspace from the fact tables: the correctness oracle that
incremental runs are checked against."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.tenancy.models import Tenant
from alignment import engine


class Command(BaseCommand):
    help = "Full recompute of a workspace's metrics (manage.py recompute_metrics --tenant acme)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Workspace slug")

    def handle(self, *args, tenant: str, **options):
        workspace = Tenant.objects.filter(slug=tenant.lower(), ready=True).first()
        if workspace is None:
            raise CommandError(f"No ready workspace with slug {tenant!r}.")
        with schema_context(workspace.schema_name):
            record = engine.run(full=True)
        if record is None:
            raise CommandError("Another metric run is in progress for this workspace; try again shortly.")
        self.stdout.write(
            f"{tenant}: {record.values_written} values written under definitions v{record.definition_id}."
        )
