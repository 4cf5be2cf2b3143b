"""Settings · Webhooks (admins): the workspace's subscriptions with their signing secrets, a form to add
one, and the delivery log with each attempt and a button to deliver an event again."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path

from . import webhooks
from .forms import apply_service_errors
from .models import WebhookDelivery, WebhookSubscription
from .portal import ListPage, PortalView, posted_object_or_404
from .roles import Area


class SubscriptionForm(forms.Form):
    url = forms.CharField(max_length=webhooks.MAX_URL, label="URL", help_text="https, on a public address")
    events = forms.MultipleChoiceField(
        choices=list(webhooks.EVENTS.items()), widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(max_length=200, required=False)
    allow_private = forms.BooleanField(
        required=False,
        label="Allow private network addresses",
        help_text="Off: deliveries go to public addresses only (not loopback, private or link-local).",
    )


class WebhooksView(PortalView):
    area = Area.ADMIN

    def get(self, request, form: SubscriptionForm | None = None, status: int = 200):
        deliveries = WebhookDelivery.objects.select_related("event", "subscription").prefetch_related("log")
        state = request.GET.get("status", "")
        if state in WebhookDelivery.Status.values:
            deliveries = deliveries.filter(status=state)
        context = {
            "subscriptions": WebhookSubscription.objects.all(),
            "form": form or SubscriptionForm(),
            "deliveries": ListPage(
                request, deliveries, sorts={"new": ("-created", "-id")}, default="new", per_page=25
            ),
            "status_filter": state,
            "statuses": WebhookDelivery.Status.choices,
        }
        return render(request, "accounts/settings_webhooks.html", context, status=status)

    def post(self, request):
        action = request.POST.get("action", "add")
        if action == "delete":
            subscription = posted_object_or_404(WebhookSubscription.objects.all(), request, "subscription")
            subscription.delete()
            messages.info(request, f"Webhook {subscription.url} removed.")
            return redirect("settings_webhooks")
        if action == "redeliver":
            delivery = posted_object_or_404(WebhookDelivery.objects.all(), request, "delivery")
            webhooks.redeliver(delivery=delivery)
            messages.success(request, "The event will be delivered again within a few seconds.")
            return redirect("settings_webhooks")
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                webhooks.subscription_save(data=form.cleaned_data, actor=request.user)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Webhook added. Verify its signatures with the secret shown below.")
                return redirect("settings_webhooks")
        return self.get(request, form=form, status=400)


urlpatterns = [path("settings/webhooks/", WebhooksView.as_view(), name="settings_webhooks")]
