"""The demo workspace ``acme``: one user per role. Later apps add their own demo data after this."""

from __future__ import annotations

from django_tenants.utils import schema_context

from .models import User
from .roles import Role
from .services import user_create

DEMO_SLUG = "acme"
DEMO_NAME = "Acme Inc"
DEMO_PASSWORD = "tandem-demo-2026"  # noqa: S105 - published in the README on purpose
PLATFORM_ADMIN_EMAIL = "platform@tandem.example"
DEMO_USERS = [
    ("admin@acme.example", "Ada Admin", [Role.ADMIN]),
    ("marketing@acme.example", "Mia Marketer", [Role.MARKETING]),
    ("sales@acme.example", "Sam Seller", [Role.SALES]),
    ("leadership@acme.example", "Lee Leader", [Role.LEADERSHIP]),
]


def seed(*, tenant) -> list[str]:
    """Create the demo users that are missing; returns the e-mails created."""
    created = []
    with schema_context(tenant.schema_name):
        for email, name, roles in DEMO_USERS:
            if not User.objects.filter(email__iexact=email).exists():
                user_create(email=email, full_name=name, roles=roles, password=DEMO_PASSWORD)
                created.append(email)
    return created
