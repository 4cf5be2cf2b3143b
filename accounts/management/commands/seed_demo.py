from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from accounts import demo
from accounts.tenancy.links import workspace_url
from accounts.tenancy.models import PlatformAdmin, Tenant
from accounts.tenancy.services import platform_admin_create, tenant_create, tenant_provision


class Command(BaseCommand):
    help = "Create the demo workspace 'acme' (once) with one user per role. Safe to run again."

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=demo.DEMO_SLUG).first()
        if tenant is None:
            tenant = tenant_create(
                slug=demo.DEMO_SLUG,
                name=demo.DEMO_NAME,
                admin_email=demo.DEMO_USERS[0][0],
                admin_name=demo.DEMO_USERS[0][1],
                admin_password=demo.DEMO_PASSWORD,
            )
            self.stdout.write(f"Created workspace {tenant.slug}.")
        elif not tenant.ready:
            tenant = tenant_provision(tenant_id=tenant.pk)
        if not PlatformAdmin.objects.filter(email=demo.PLATFORM_ADMIN_EMAIL).exists():
            platform_admin_create(email=demo.PLATFORM_ADMIN_EMAIL, password=demo.DEMO_PASSWORD)
        for path in settings.TANDEM_DEMO_SEEDERS:
            import_string(path)(tenant=tenant)
        self.stdout.write(self.style.SUCCESS(f"Demo workspace: {workspace_url(tenant.slug)}"))
