from __future__ import annotations

from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from .. import reports
from ..models import Deal, Pipeline
from .common import SalesPage

CARDS_PER_STAGE = 50


class BoardView(SalesPage):
    """A pipeline as columns of stages: count, total and weighted total per column; stale deals marked."""

    def get(self, request, pk: int | None = None):
        pipelines = list(Pipeline.objects.filter(is_active=True))
        pipeline = (
            next((p for p in pipelines if p.pk == pk), None)
            if pk
            else next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
        )
        if pk and pipeline is None:
            raise Http404("No such pipeline.")  # a foreign, missing or inactive id: the same 404
        if pipeline is None:
            return render(request, "sales/board.html", {"pipelines": [], "columns": []})
        stages = list(pipeline.stages.filter(kind="open").order_by("position"))
        open_deals = Deal.objects.filter(pipeline=pipeline, status="open")
        totals = {
            row["stage"]: row
            for row in open_deals.values("stage").annotate(
                n=Count("id"), total=Sum("amount"), weighted=Sum(reports.weighted_amount())
            )
        }
        # The biggest CARDS_PER_STAGE deals of every column, in one query (a window per stage), so a column
        # full of large deals never pushes another column's cards off the board.
        ranked = open_deals.annotate(
            rank=Window(RowNumber(), partition_by=F("stage_id"), order_by=[F("amount").desc(), F("id").asc()])
        ).filter(rank__lte=CARDS_PER_STAGE)
        cards: dict[int, list[Deal]] = {stage.pk: [] for stage in stages}
        now = timezone.now()
        for deal in ranked.select_related("company", "owner", "stage").order_by("stage_id", "rank"):
            if deal.stage_id in cards:
                deal.days_in_stage = (now - deal.stage_entered_at).days
                deal.is_stale = deal.days_in_stage > deal.stage.expected_days
                cards[deal.stage_id].append(deal)
        columns = [
            {
                "stage": stage,
                "deals": cards[stage.pk],
                "count": totals.get(stage.pk, {}).get("n", 0),
                "total": totals.get(stage.pk, {}).get("total") or 0,
                "weighted": totals.get(stage.pk, {}).get("weighted") or 0,
            }
            for stage in stages
        ]
        context = {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": columns,
            "stages": stages,
            "can_write": self.can_write(),
        }
        return render(request, "sales/board.html", context)
