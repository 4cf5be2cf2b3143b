"""Portal pages of a workspace: sign-in, home, profile, users, invitations and API keys."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views import View

from . import selectors, services, throttle
from .forms import (
    ApiKeyForm,
    InvitationAcceptForm,
    InviteForm,
    LoginForm,
    PasswordChangeForm,
    UserEditForm,
    apply_service_errors,
)
from .portal import ANY, PortalView, RefusedPostIs400, search_text
from .roles import WRITE, Area, Role

PAGE_SIZE = 25
NEW_KEY_SESSION = "new_api_key"


# --- Sign-in -------------------------------------------------------------------------------------


class LoginView(RefusedPostIs400, auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        services.session_login(self.request, form.get_user())
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(View):
    def post(self, request):
        logout(request)
        messages.info(request, "You have been signed out.")
        return redirect("login")


class PasswordResetView(RefusedPostIs400, auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        # Reset e-mails cost money and annoy people: limit them per client address.
        key = f"password-reset:{throttle.client_ip(self.request)}"
        if throttle.over_limit(
            key, limit=settings.TANDEM_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR, window_seconds=3600
        ):
            form.add_error(None, "Too many reset requests from your address. Please try again in an hour.")
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(RefusedPostIs400, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class InvitationAcceptView(View):
    """The one-time link from an invitation e-mail: choose a name and password, and you are in."""

    template_name = "accounts/invitation_accept.html"

    def _invitation(self, token: str):
        invitation = services.invitation_for_token(token)
        if invitation is None:
            raise Http404("This invitation link is invalid, expired or already used.")
        return invitation

    def get(self, request, token: str):
        invitation = self._invitation(token)
        return render(request, self.template_name, {"form": InvitationAcceptForm(), "invitation": invitation})

    def post(self, request, token: str):
        invitation = self._invitation(token)
        form = InvitationAcceptForm(request.POST)
        if form.is_valid():
            try:
                user = services.invitation_accept(
                    token=token,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                services.session_login(request, user)
                messages.success(request, f"Welcome to {request.tenant.name}!")
                return redirect("home")
        return render(request, self.template_name, {"form": form, "invitation": invitation}, status=400)


# --- Home and profile ----------------------------------------------------------------------------


class HomeView(PortalView):
    area = ANY

    def get(self, request):
        user = request.user
        context = {
            "is_admin": user.has_role(Role.ADMIN),
            "is_marketing": user.has_role(Role.MARKETING),
            "is_sales": user.has_role(Role.SALES),
            "is_leadership": user.has_role(Role.LEADERSHIP),
            "counts": selectors.dashboard_counts() if user.has_role(Role.ADMIN) else None,
        }
        return render(request, "accounts/home.html", context)


class ProfileView(PortalView):
    area = ANY

    def get(self, request):
        return render(request, "accounts/profile.html", {"form": PasswordChangeForm()})

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                services.user_change_password(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                from django.contrib.auth import update_session_auth_hash

                update_session_auth_hash(request, request.user)
                messages.success(request, "Your password has been changed.")
                return redirect("profile")
        return render(request, "accounts/profile.html", {"form": form}, status=400)


# --- Settings: users and invitations -------------------------------------------------------------


def _page(request, queryset):
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


class UserListView(PortalView):
    area = Area.ADMIN

    def get(self, request, form: InviteForm | None = None, status: int = 200):
        search = search_text(request, limit=100)
        role = request.GET.get("role", "")
        sort = request.GET.get("sort", "name")
        sort = sort if sort in selectors.USER_SORTS else "name"  # the page shows the order really used
        page = _page(request, selectors.user_list(search=search, role=role, sort=sort))
        context = {
            "page": page,
            "search": search,
            "role": role,
            "sort": sort,
            "roles": Role.choices,
            "invitations": list(selectors.invitation_list()[:50]),
            "invite_form": form or InviteForm(),
        }
        return render(request, "accounts/settings_users.html", context, status=status)

    def post(self, request):
        """Invite someone (the form sits on the users page)."""
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                invitation, token = services.invitation_create(
                    email=form.cleaned_data["email"],
                    roles=form.cleaned_data["roles"],
                    invited_by=request.user,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                accept_url = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
                services.invitation_send(invitation=invitation, token=token, accept_url=accept_url)
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("settings_users")
        return self.get(request, form=form, status=400)


class UserEditView(PortalView):
    area = Area.ADMIN
    access = WRITE

    def _render(self, request, user, form, status=200):
        return render(
            request, "accounts/settings_user_edit.html", {"member": user, "form": form}, status=status
        )

    def get(self, request, pk: int):
        user = get_object_or_404(selectors.user_list(), pk=pk)
        form = UserEditForm(
            initial={"full_name": user.full_name, "roles": user.roles, "is_active": user.is_active}
        )
        return self._render(request, user, form)

    def post(self, request, pk: int):
        user = get_object_or_404(selectors.user_list(), pk=pk)
        form = UserEditForm(request.POST)
        if form.is_valid():
            try:
                services.user_update(
                    user=user,
                    actor=request.user,
                    full_name=form.cleaned_data["full_name"],
                    roles=form.cleaned_data["roles"],
                    is_active=form.cleaned_data["is_active"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{user.full_name} has been updated.")
                return redirect("settings_users")
        return self._render(request, user, form, status=400)


class InvitationRevokeView(PortalView):
    area = Area.ADMIN

    def post(self, request, pk: int):
        invitation = get_object_or_404(selectors.invitation_list(), pk=pk)
        services.invitation_revoke(invitation=invitation)
        messages.info(request, f"The invitation for {invitation.email} was revoked.")
        return redirect("settings_users")


# --- Settings: API keys --------------------------------------------------------------------------


class ApiKeyListView(PortalView):
    area = Area.ADMIN

    def get(self, request, form: ApiKeyForm | None = None, status: int = 200):
        context = {
            "page": _page(request, selectors.api_key_list()),
            "form": form or ApiKeyForm(),
            "new_key": request.session.pop(NEW_KEY_SESSION, None),
            "api_docs_url": reverse("api-docs"),
        }
        return render(request, "accounts/settings_api_keys.html", context, status=status)

    def post(self, request):
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            expires = form.cleaned_data.get("expires")
            try:
                key, secret = services.api_key_create(
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    created_by=request.user,
                    expires=dt.datetime.combine(expires, dt.time.min, tzinfo=dt.UTC) if expires else None,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                # Shown once on the next page, then gone: the secret is never stored.
                request.session[NEW_KEY_SESSION] = {"name": key.name, "secret": secret, "prefix": key.prefix}
                return redirect("settings_api_keys")
        return self.get(request, form=form, status=400)


class ApiKeyRevokeView(PortalView):
    area = Area.ADMIN

    def post(self, request, pk: int):
        key = get_object_or_404(selectors.api_key_list(), pk=pk)
        services.api_key_revoke(key=key)
        messages.info(request, f"The key {key.prefix} was revoked; it stops working immediately.")
        return redirect("settings_api_keys")
