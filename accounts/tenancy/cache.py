"""In-process cache of host name -> tenant, so a request does not pay a query to find its schema.

Measured on this stack (../shared/tenancy.md): the stock middleware's lookup per request costs ~70% of
throughput; a process-local cache brings it back to ~94% of plain Django. Saving or deleting a tenant
or a domain in this process clears the cache at once; other processes see the change within
``TANDEM_TENANT_CACHE_SECONDS``. Tenants that are not (yet) usable and unknown hosts are cached for a
couple of seconds only, so a workspace that just became ready is reachable right away.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save

_SHORT_TTL = 2.0
_MAX_ENTRIES = 10_000
_entries: dict[str, tuple[float, object | None]] = {}
_lock = threading.Lock()


def tenant_for_host(hostname: str):
    """The Tenant serving ``hostname`` (lower-case, no port), or None."""
    from .models import Domain

    now = time.monotonic()
    entry = _entries.get(hostname)
    if entry is not None and entry[0] > now:
        return entry[1]
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    tenant = domain.tenant if domain is not None else None
    usable = tenant is not None and tenant.is_active and tenant.ready
    ttl = settings.TANDEM_TENANT_CACHE_SECONDS if usable else _SHORT_TTL
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[hostname] = (now + ttl, tenant)
    return tenant


def clear(**_: object) -> None:
    with _lock:
        _entries.clear()


def connect_invalidation() -> None:
    from .models import Domain, Tenant

    for model in (Tenant, Domain):
        post_save.connect(clear, sender=model, dispatch_uid=f"tenant-cache-save-{model.__name__}")
        post_delete.connect(clear, sender=model, dispatch_uid=f"tenant-cache-delete-{model.__name__}")
