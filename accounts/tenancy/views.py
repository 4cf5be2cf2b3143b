"""Pages of the bare domain: landing, sign-up with its status page, and the platform console."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from accounts import audit
from accounts.forms import apply_service_errors
from accounts.portal import RefusedPostIs400, search_text
from accounts.services import session_login
from accounts.throttle import client_ip

from . import selectors, services
from .api import signup_rate_limited
from .forms import ConsoleLoginForm, SignupForm
from .links import workspace_url
from .models import PlatformAdmin, Tenant


class LandingView(View):
    def get(self, request):
        return render(request, "tenancy/landing.html")


class SignupView(View):
    template_name = "tenancy/signup.html"

    def get(self, request):
        return render(request, self.template_name, {"form": SignupForm()})

    def post(self, request):
        form = SignupForm(request.POST)
        if form.is_valid():
            if signup_rate_limited(request):
                form.add_error(None, "Too many sign-ups from this address. Please try again in an hour.")
                return render(request, self.template_name, {"form": form}, status=429)
            try:
                signup = services.signup_create(**form.cleaned_data, ip_address=client_ip(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("signup_status", token=signup.token)
        return render(request, self.template_name, {"form": form}, status=400)


class SignupStatusView(View):
    def get(self, request, token: str):
        signup = selectors.signup_by_token(token)
        if signup is None:
            raise Http404
        tenant = signup.tenant
        context = {
            "tenant": tenant,
            "signup": signup,
            "login_url": workspace_url(tenant.slug, "/login/", request=request),
            "refresh": not tenant.ready and tenant.status != Tenant.Status.FAILED,
        }
        return render(request, "tenancy/signup_status.html", context)


# --- Platform console ----------------------------------------------------------------------------


class ConsoleLoginView(RefusedPostIs400, LoginView):
    template_name = "tenancy/console_login.html"
    authentication_form = ConsoleLoginForm
    redirect_authenticated_user = False

    def form_valid(self, form):
        session_login(self.request, form.get_user())
        return HttpResponseRedirect(reverse("console_tenants"))


class ConsoleLogoutView(View):
    def post(self, request):
        logout(request)
        return redirect("console_login")


class ConsoleView(View):
    """Platform admins only; they manage tenants and see nothing inside a workspace."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "dispatch" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override dispatch.")

    def dispatch(self, request, *args, **kwargs):
        if not isinstance(request.user, PlatformAdmin):
            return redirect_to_login(request.get_full_path(), login_url=reverse("console_login"))
        return super().dispatch(request, *args, **kwargs)


class ConsoleTenantListView(ConsoleView):
    def get(self, request):
        search = search_text(request, limit=100)
        status = request.GET.get("status", "")
        page = Paginator(selectors.tenant_list(search=search, status=status), 25).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "tenancy/console_tenants.html",
            {"page": page, "search": search, "status": status, "statuses": Tenant.Status.choices},
        )


class ConsoleTenantDetailView(ConsoleView):
    def get(self, request, pk: int):
        tenant = get_object_or_404(selectors.tenant_list(), pk=pk)
        return render(
            request,
            "tenancy/console_tenant.html",
            {
                "tenant": tenant,
                "workspace_url": workspace_url(tenant.slug, "/", request=request),
                "plans": settings.TANDEM_API_PLANS,
            },
        )

    def post(self, request, pk: int):
        tenant = get_object_or_404(selectors.tenant_list(), pk=pk)
        action = request.POST.get("action")
        try:
            if action == "deactivate":
                services.tenant_set_active(tenant=tenant, active=False)
                messages.info(request, f"{tenant.name} is deactivated: its address now answers 404.")
            elif action == "activate":
                services.tenant_set_active(tenant=tenant, active=True)
                messages.success(request, f"{tenant.name} is active again.")
            elif action == "plan":
                services.tenant_set_plan(tenant=tenant, plan=request.POST.get("plan", ""))
                messages.success(request, f"{tenant.name} is on the {tenant.plan} API plan.")
            elif action == "retry":
                services.tenant_retry_provisioning(tenant=tenant)
                messages.info(request, f"Set-up of {tenant.name} was queued again.")
            else:
                messages.error(request, "Unknown action.")
                return redirect("console_tenant", pk=tenant.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:  # the workspace's own log says what the platform did to it, and who
            audit.record_platform(
                tenant=tenant,
                action=action,
                actor_email=getattr(request.user, "email", ""),
                details={"plan": tenant.plan} if action == "plan" else None,
            )
        return redirect("console_tenant", pk=tenant.pk)
