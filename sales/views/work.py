from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.portal import ListPage, search_text

from .. import reports, selectors
from ..models import Activity, Subscription, SubscriptionEvent
from ..services import activities as activity_services
from .common import SalesPage, SalesWritePage


class MyActivitiesView(SalesPage):
    """The signed-in rep's open activities, overdue first."""

    def get(self, request):
        now = timezone.now()
        items = list(reports.my_activities(request.user))
        for item in items:
            item.overdue = item.due_at is not None and item.due_at < now
        return render(request, "sales/my_activities.html", {"items": items, "can_write": self.can_write()})


class ActivityDoneView(SalesWritePage):
    def post(self, request, pk: int):
        activity = get_object_or_404(Activity, pk=pk, owner=request.user, done_at__isnull=True)
        try:
            activity_services.activity_complete(
                activity=activity, outcome=request.POST.get("outcome", "")[:200]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"“{activity.subject}” done.")
        return redirect("sales:my_activities")


CUSTOMER_SORTS = {
    "name": ("company__name", "id"),
    "-mrr": ("-mrr", "id"),
    "mrr": ("mrr", "id"),
    "-name": ("-company__name", "-id"),
    "since": ("since", "id"),
    "-since": ("-since", "-id"),
}


class CustomersView(SalesPage):
    """All customer accounts with live MRR (search, sort, pages), renewals due in the next 30, 60 and 90
    days, expansion candidates and 90-day retention."""

    def get(self, request):
        listing = ListPage(
            request,
            selectors.customer_list(search=search_text(request), with_mrr=True),
            sorts=CUSTOMER_SORTS,
            default="-mrr",
        )
        today = timezone.now().date()
        window = request.GET.get("within", "90")
        days = int(window) if window in ("30", "60", "90") else 90
        renewals = list(
            Subscription.objects.filter(
                status="active", renewal_date__gte=today, renewal_date__lt=today + dt.timedelta(days=days)
            )
            .select_related("account__company")
            .order_by("renewal_date", "id")[:200]
        )
        # Expansion candidates: live accounts whose MRR has not changed for 180 days, biggest first. The
        # last change is a subquery, so the MRR sum is not multiplied by a join to the events.
        since = timezone.now() - dt.timedelta(days=180)
        last_change = (
            SubscriptionEvent.objects.filter(subscription__account=OuterRef("account"))
            .order_by("-at")
            .values("at")[:1]
        )
        candidates = list(
            Subscription.objects.filter(status="active")
            .values("account", "account__company__name")
            .annotate(mrr=Sum("mrr"), last_growth=Subquery(last_change))
            .filter(last_growth__lt=since)
            .order_by("-mrr")[:20]
        )
        context = listing.context() | {
            "renewals": renewals,
            "within": days,
            "candidates": candidates,
            "retention": reports.retention(start=timezone.now() - dt.timedelta(days=90), end=timezone.now()),
        }
        return render(request, "sales/customers.html", context)
