"""Workspace slug rules: the slug is the subdomain and, with hyphens as underscores, the schema name."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]\Z")
SLUG_MAX_LENGTH = 32

# Names that must never become a subdomain or a schema: infrastructure hosts, PostgreSQL's own
# schemas and roles, and words users could mistake for the platform.
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "api",
        "admin",
        "static",
        "media",
        "assets",
        "cdn",
        "mail",
        "email",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "ssh",
        "vpn",
        "ns",
        "ns1",
        "ns2",
        "dns",
        "mx",
        "app",
        "apps",
        "dashboard",
        "portal",
        "console",
        "platform",
        "system",
        "root",
        "postgres",
        "postgresql",
        "information-schema",
        "template0",
        "template1",
        "test",
        "tests",
        "demo-admin",
        "tandem",
        "support",
        "help",
        "status",
        "docs",
        "blog",
        "about",
        "signup",
        "sign-up",
        "login",
        "logout",
        "auth",
        "oauth",
        "sso",
        "account",
        "accounts",
        "billing",
        "security",
        "internal",
        "localhost",
        "healthz",
        "metrics",
        "webhooks",
    }
)


def normalize_slug(value: str) -> str:
    return (value or "").strip().lower()


def validate_slug(value: str) -> None:
    """Raise a ValidationError that says exactly what is wrong with a proposed workspace slug."""
    if not value:
        raise ValidationError("Choose a subdomain for your workspace.", code="required")
    if len(value) < 3 or len(value) > SLUG_MAX_LENGTH:
        raise ValidationError(f"A subdomain has 3 to {SLUG_MAX_LENGTH} characters.", code="length")
    if not SLUG_RE.match(value):
        raise ValidationError(
            "Use lower-case letters, digits and hyphens only, starting with a letter and not ending "
            "with a hyphen.",
            code="invalid",
        )
    if "--" in value:
        raise ValidationError("A subdomain cannot contain two hyphens in a row.", code="invalid")
    if value in RESERVED_SLUGS or value.startswith("pg-"):
        raise ValidationError(f"“{value}” is reserved. Please choose another subdomain.", code="reserved")


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema of a workspace. Slugs never contain underscores, so this is one-to-one."""
    return slug.replace("-", "_")
