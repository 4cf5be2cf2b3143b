"""Base classes of every tenant API view. Scope checks live here and cannot be skipped."""

from __future__ import annotations

from django.db import connection
from rest_framework import exceptions, generics, permissions, views

from config import contract

from . import api_limits, idempotency
from .api_auth import principal_scopes
from .roles import Area, required_scope

SELF = "self"
PAGING_PARAMS = frozenset({"cursor", "limit"})


class AreaScopePermission(permissions.BasePermission):
    """Reading needs ``<area>:read``, anything else ``<area>:write`` (from key scopes or user roles)."""

    message = "Your credentials do not grant the scope this operation needs."

    def has_permission(self, request, view) -> bool:
        if view.scope_area == SELF:
            return True  # "who am I": any authenticated principal, nothing else is exposed
        write = request.method not in permissions.SAFE_METHODS
        needed = required_scope(view.scope_area, write=write)
        self.message = f"This operation needs the '{needed}' scope."
        if needed not in principal_scopes(request):
            return False
        from .models import User

        if write and view.write_roles and isinstance(request.user, User):
            # a person's writes here need one of these roles too (a key's scopes were granted by an admin)
            names = " or ".join(sorted(view.write_roles))
            self.message = f"Only {names} may change this."
            return bool(view.write_roles & set(request.user.roles))
        return True


_FIXED = ("permission_classes", "authentication_classes", "get_permissions", "get_authenticators")


class _ScopedMixin:
    scope_area: str = ""
    # Roles a person needs, besides the area's write scope, for any write (checked before the body is read).
    write_roles: frozenset[str] = frozenset()
    # Query parameters a GET may carry besides paging; anything else is a 400 naming it.
    allowed_params: tuple[str, ...] = ()
    # ?ordering=<key> for lists: key -> unique-enough ORM ordering for the cursor ("-id" last).
    ordering_fields: dict[str, tuple[str, ...]] = {}
    default_ordering: tuple[str, ...] = ("-id",)
    permission_classes = [permissions.IsAuthenticated, AreaScopePermission]

    @property
    def cursor_ordering(self) -> tuple[str, ...]:
        key = self.request.query_params.get("ordering")
        if key is None:
            return self.default_ordering
        if key not in self.ordering_fields:
            from rest_framework.exceptions import ValidationError

            choices = ", ".join(sorted(self.ordering_fields))
            raise ValidationError({"ordering": [f"Order by one of: {choices}."]})
        return self.ordering_fields[key]

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "GET":
            allowed_params = set(self.allowed_params) | ({"ordering"} if self.ordering_fields else set())
            unknown = sorted(set(request.query_params) - PAGING_PARAMS - allowed_params)
            if unknown:
                from rest_framework.exceptions import ValidationError

                allowed = ", ".join(sorted(PAGING_PARAMS | allowed_params))
                raise ValidationError(
                    {name: [f"Unknown query parameter. Allowed: {allowed}."] for name in unknown}
                )
        problems = contract.check_request(request)
        if problems:
            raise exceptions.ValidationError(problems)
        request.fits_schema = True  # from here on, a validation error is a broken rule: 422 (config.api)
        nul = contract.nul_parameters(request)
        if nul:
            raise exceptions.ValidationError(nul)

    api_usage: api_limits.Usage | None = None
    api_principal: str | None = None  # key:<id> or user:<id>, once authenticated

    def perform_authentication(self, request) -> None:
        """Authenticate, then count the call against the rate limits (before permissions, so every
        authenticated answer carries the limit headers)."""
        super().perform_authentication(request)
        self.api_principal = api_limits.principal_bucket(request)
        if self.api_principal is None or connection.schema_name == "public":
            return
        self.api_usage = api_limits.consume(self.api_principal, plan=getattr(request.tenant, "plan", None))
        if self.api_usage.retry_after is not None:
            raise exceptions.Throttled(
                wait=self.api_usage.retry_after, detail=api_limits.exhausted_message(self.api_usage)
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.api_usage is not None:
            for name, value in self.api_usage.headers().items():
                response[name] = value
        return response

    def dispatch(self, request, *args, **kwargs):
        """DRF's dispatch, with a POST or PATCH carrying an ``Idempotency-Key`` run once per caller and key
        (``accounts.idempotency``)."""
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            key = request.headers.get(idempotency.HEADER)
            idempotent = request.method in idempotency.METHODS and handler != self.http_method_not_allowed
            if key is not None and idempotent and self.api_principal is not None:
                response = idempotency.run(
                    request,
                    principal=self.api_principal,
                    key=key,
                    call=lambda: handler(request, *args, **kwargs),
                    render=lambda r: self._rendered(request, r, *args, **kwargs),
                )
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _rendered(self, request, response, *args, **kwargs):
        response = self.finalize_response(request, response, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        return response

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for attr in _FIXED:
            if attr in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {attr}: scope checks are not optional.")
        if not cls.__name__.startswith("Tenant") and cls.scope_area not in (*Area.values, SELF):
            raise TypeError(f"{cls.__name__}.scope_area must be one of {Area.values} or {SELF!r}.")


class TenantAPIView(_ScopedMixin, views.APIView):
    pass


class _FlatListMixin:
    """With ``flat`` set (a ``config.flat.FlatList`` of the view's serializer), GET reads the page as plain
    rows of the serializer's columns instead of building and serializing model instances; same body."""

    flat = None

    def list(self, request, *args, **kwargs):
        if self.flat is None:
            return super().list(request, *args, **kwargs)
        ordering = [name.lstrip("-") for name in self.cursor_ordering]
        rows = self.flat.queryset(self.filter_queryset(self.get_queryset()), also=ordering)
        return self.get_paginated_response(self.flat.represent(self.paginate_queryset(rows)))


class TenantListAPIView(_ScopedMixin, _FlatListMixin, generics.ListAPIView):
    pass


class TenantListCreateAPIView(_ScopedMixin, _FlatListMixin, generics.ListCreateAPIView):
    pass


class TenantRetrieveAPIView(_ScopedMixin, generics.RetrieveAPIView):
    pass


class TenantRetrieveUpdateDestroyAPIView(_ScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    http_method_names = ["get", "patch", "delete", "head", "options"]


class TenantServiceListCreateAPIView(TenantListCreateAPIView):
    """A cursor-paginated list whose create goes through one service (``create_object``)."""

    input_serializer: type | None = None

    def create_object(self, data: dict, request):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        from rest_framework import status
        from rest_framework.response import Response

        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = self.create_object(dict(data.validated_data), request)
        fresh = self.get_queryset().filter(pk=obj.pk).first() or obj
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)


class TenantServiceDetailAPIView(TenantRetrieveUpdateDestroyAPIView):
    """Read, change (PATCH) and delete one object, each through a service."""

    input_serializer: type | None = None

    def update_object(self, obj, data: dict, request):
        raise NotImplementedError

    def delete_object(self, obj, request) -> None:
        raise NotImplementedError

    def patch(self, request, *args, **kwargs):
        from rest_framework.response import Response

        obj = self.get_object()
        data = self.input_serializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        self.update_object(obj, dict(data.validated_data), request)
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data)

    def delete(self, request, *args, **kwargs):
        from rest_framework import status
        from rest_framework.response import Response

        self.delete_object(self.get_object(), request)
        return Response(status=status.HTTP_204_NO_CONTENT)
