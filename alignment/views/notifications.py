"""The signed-in person's notifications: goal status changes, SLA warnings and breaches, the monthly
objection digest; newest first, paged, marked read when they choose."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from accounts.portal import ListPage, PortalView
from accounts.roles import Area

from ..models import Notification


class NotificationsView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request):
        page = ListPage(
            request,
            Notification.objects.filter(user=request.user),
            sorts={"new": ("-created_at", "-id")},
            default="new",
        )
        unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
        return render(request, "alignment/notifications.html", {"page": page, "unread": unread})

    def post(self, request):
        marked = Notification.objects.filter(user=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        messages.success(request, f"{marked} notification(s) marked read.")
        return redirect(reverse("alignment:notifications"))


urlpatterns = [path("notifications/", NotificationsView.as_view(), name="notifications")]
