"""Base class of every portal page on a workspace host. Login and role checks cannot be skipped."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from django.views import View

from .models import User
from .roles import READ, WRITE, Area, required_scope, scopes_for_roles

ANY = "any"  # any logged-in workspace user (home, profile)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class PortalView(View):
    """``area`` names the part of the product; reading needs read access, anything else write.

    ``access = WRITE`` makes even the GET of a page (a form that only writers may use) need write.
    """

    area: str = ""
    access: str = READ

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "dispatch" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override dispatch: access checks are not optional.")
        if cls.area not in (*Area.values, ANY):
            raise TypeError(f"{cls.__name__}.area must be one of {Area.values} or {ANY!r}.")

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not isinstance(user, User) or not user.is_active:
            return redirect_to_login(request.get_full_path())
        if self.area != ANY:
            write = self.access == WRITE or request.method not in SAFE_METHODS
            if required_scope(self.area, write=write) not in scopes_for_roles(user.roles):
                raise PermissionDenied
        try:
            return super().dispatch(request, *args, **kwargs)
        except ObjectDoesNotExist:
            # the row was there when the page looked it up and was deleted before the change locked it
            # (two people, or two tabs): the same 404 as a missing id, never a 500
            raise Http404 from None

    def can_write(self) -> bool:
        return self.area == ANY or required_scope(self.area, write=True) in scopes_for_roles(
            self.request.user.roles
        )


def posted_object_or_404(queryset, request, field: str):
    """The row whose id a form posted in ``field``: a missing, foreign or malformed id is the same 404
    (never a 500 from ``int('abc')``)."""
    from django.http import Http404
    from django.shortcuts import get_object_or_404

    from config.validation import is_id

    value = request.POST.get(field, "")
    if not is_id(value):
        raise Http404
    return get_object_or_404(queryset, pk=int(value))


class RefusedPostIs400:
    """For Django's own form views (sign-in, password reset): a refused post answers 400 like every other
    portal form, 429 when the form says it was throttled; the page and its message stay the same."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 429 if getattr(form, "throttled", False) else 400
        return response


def search_text(request, limit: int = 200) -> str:
    """The ``?q=`` search of a list page, trimmed and cut to ``limit``. A NUL is dropped: it can never be
    part of stored text and PostgreSQL refuses it even in a LIKE (a 500 otherwise)."""
    return request.GET.get("q", "").replace("\x00", "").strip()[:limit]


class ListPage:
    """Search, an allow-listed sort and pagination for a portal list.

    ``sorts`` maps the ``?sort=`` keys to ORM orderings; an unknown key falls back to the default, so a
    hand-edited URL can never order by an arbitrary column.
    """

    def __init__(
        self, request, queryset, *, sorts: dict[str, tuple[str, ...]], default: str, per_page: int = 25
    ):
        from django.core.paginator import Paginator

        key = request.GET.get("sort", default)
        self.sort = key if key in sorts else default
        self.search = search_text(request)
        self.page = Paginator(queryset.order_by(*sorts[self.sort]), per_page).get_page(
            request.GET.get("page")
        )

    def context(self) -> dict:
        return {"page": self.page, "sort": self.sort, "search": self.search}
