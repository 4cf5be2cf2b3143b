from __future__ import annotations

from django.conf import settings


def workspace_host(slug: str) -> str:
    return f"{slug}.{settings.TANDEM_BASE_DOMAIN}"


def workspace_url(slug: str, path: str = "/", request=None) -> str:
    """Absolute URL on a workspace's host. With a request, its scheme and port are reused."""
    if request is not None:
        scheme = request.scheme
        port = request.get_port()
        default = "443" if scheme == "https" else "80"
    else:
        scheme = settings.TANDEM_URL_SCHEME
        port = settings.TANDEM_URL_PORT
        default = ""
    netloc = workspace_host(slug) + (f":{port}" if port and port != default else "")
    return f"{scheme}://{netloc}{path}"
