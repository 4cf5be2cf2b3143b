"""Objections API: the taxonomy, objection logs on deals and leads, answering content, threads and the gap
report. Reads need alignment:read, writes alignment:write."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.api_base import TenantAPIView, TenantServiceDetailAPIView, TenantServiceListCreateAPIView
from accounts.models import acting_user
from accounts.roles import Area
from config.api import query_int

from . import objections
from .api import AlignmentList
from .models import Objection, ObjectionAnswer, ObjectionCategory, ObjectionComment, ObjectionLog


class ObjectionOut(serializers.ModelSerializer):
    class Meta:
        model = Objection
        fields = ["id", "name", "category", "description", "is_active", "created_at"]
        read_only_fields = fields


class ObjectionIn(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    category = serializers.ChoiceField(choices=ObjectionCategory.values)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class LogOut(serializers.ModelSerializer):
    objection = serializers.IntegerField(source="objection_id")
    deal = serializers.IntegerField(source="deal_id", allow_null=True)
    contact = serializers.IntegerField(source="contact_id", allow_null=True)
    logged_by = serializers.IntegerField(source="logged_by_id", allow_null=True)

    class Meta:
        model = ObjectionLog
        fields = ["id", "objection", "deal", "contact", "stage", "note", "logged_by", "logged_at"]
        read_only_fields = fields


class LogIn(serializers.Serializer):
    objection = serializers.IntegerField(min_value=1)
    deal = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    contact = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    stage = serializers.CharField(max_length=100, required=False, allow_blank=True)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class AnswerOut(serializers.ModelSerializer):
    objection = serializers.IntegerField(source="objection_id")
    content = serializers.IntegerField(source="content_id")

    class Meta:
        model = ObjectionAnswer
        fields = ["id", "objection", "content", "added_at"]
        read_only_fields = fields


class AnswerIn(serializers.Serializer):
    content = serializers.IntegerField(min_value=1)


class CommentOut(serializers.ModelSerializer):
    author = serializers.IntegerField(source="author_id", allow_null=True)

    class Meta:
        model = ObjectionComment
        fields = ["id", "author", "body", "created_at"]
        read_only_fields = fields


class CommentIn(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class GapOut(serializers.Serializer):
    objection = serializers.IntegerField(source="objection_id")
    name = serializers.CharField()
    category = serializers.CharField()
    frequency = serializers.IntegerField()
    win_rate_with = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    win_rate_without = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    impact = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    priority = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    coverage = serializers.IntegerField()
    usage = serializers.IntegerField()


class GapReportOut(serializers.Serializer):
    backlog = GapOut(many=True)
    covered = GapOut(many=True)


class ObjectionListView(TenantServiceListCreateAPIView):
    """The objection taxonomy; POST adds an objection."""

    scope_area = Area.ALIGNMENT
    serializer_class = ObjectionOut
    input_serializer = ObjectionIn
    default_ordering = ("name", "id")

    def get_queryset(self) -> QuerySet:
        return Objection.objects.all()

    def create_object(self, data, request):
        return objections.objection_save(actor=acting_user(request), data=data)


class ObjectionDetailView(TenantServiceDetailAPIView):
    """One objection; PATCH renames, recategorises or retires it (``is_active``); DELETE retires it too
    (its logs stay)."""

    scope_area = Area.ALIGNMENT
    serializer_class = ObjectionOut
    input_serializer = ObjectionIn

    def get_queryset(self) -> QuerySet:
        return Objection.objects.all()

    def update_object(self, obj, data, request):
        objections.objection_save(actor=acting_user(request), data=data, objection=obj)

    def delete_object(self, obj, request) -> None:
        objections.objection_save(actor=acting_user(request), data={"is_active": False}, objection=obj)


@extend_schema(parameters=[OpenApiParameter("objection", int), OpenApiParameter("deal", int)])
class LogListView(TenantServiceListCreateAPIView):
    """Objection logs, newest first; POST logs one on a deal or a lead (the stage defaults to where it is)."""

    scope_area = Area.ALIGNMENT
    serializer_class = LogOut
    input_serializer = LogIn
    allowed_params = ("objection", "deal")
    default_ordering = ("-logged_at", "-id")

    def get_queryset(self) -> QuerySet:
        rows = ObjectionLog.objects.all()
        objection, deal = query_int(self.request, "objection"), query_int(self.request, "deal")
        if objection is not None:
            rows = rows.filter(objection_id=objection)
        if deal is not None:
            rows = rows.filter(deal_id=deal)
        return rows

    def create_object(self, data, request):
        from marketing.models import Contact
        from sales.models import Deal

        errors = {}
        objection = Objection.objects.filter(pk=data["objection"]).first()
        deal = (
            Deal.objects.select_related("stage", "lead").filter(pk=data["deal"]).first()
            if data.get("deal")
            else None
        )
        contact = Contact.objects.filter(pk=data["contact"]).first() if data.get("contact") else None
        if objection is None:
            errors["objection"] = ["No objection with this id."]
        if data.get("deal") and deal is None:
            errors["deal"] = ["No deal with this id."]
        if data.get("contact") and contact is None:
            errors["contact"] = ["No contact with this id."]
        if errors:
            raise ValidationError(errors)
        return objections.objection_log(
                actor=acting_user(request), objection=objection, deal=deal, contact=contact,
                stage=data.get("stage") or None, note=data.get("note", ""),
            )  # fmt: skip


def _objection(pk: int) -> Objection:
    objection = Objection.objects.filter(pk=pk).first()
    if objection is None:
        raise NotFound
    return objection


class AnswerListView(AlignmentList):
    """The content answering one objection; POST links an asset."""

    serializer_class = AnswerOut
    default_ordering = ("added_at", "id")

    def get_queryset(self) -> QuerySet:
        return ObjectionAnswer.objects.filter(objection=_objection(self.kwargs["pk"]))

    @extend_schema(
        request=AnswerIn, responses={201: AnswerOut}, summary="Link content that answers the objection"
    )
    def post(self, request, pk: int):
        from marketing.models import ContentAsset

        objection = _objection(pk)
        data = AnswerIn(data=request.data)
        data.is_valid(raise_exception=True)
        content = ContentAsset.objects.filter(pk=data.validated_data["content"]).first()
        if content is None:
            raise ValidationError({"content": ["No content asset with this id."]})
        answer = objections.answer_add(actor=acting_user(request), objection=objection, content=content)
        return Response(AnswerOut(answer).data, status=status.HTTP_201_CREATED)


class AnswerDeleteView(TenantAPIView):
    scope_area = Area.ALIGNMENT

    @extend_schema(request=None, responses={204: None}, summary="Unlink an answer")
    def delete(self, request, pk: int, answer_pk: int):
        answer = ObjectionAnswer.objects.filter(pk=answer_pk, objection=_objection(pk)).first()
        if answer is None:
            raise NotFound
        objections.answer_remove(actor=acting_user(request), answer=answer)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentListView(AlignmentList):
    """An objection's thread, oldest first; POST adds to it."""

    serializer_class = CommentOut
    default_ordering = ("created_at", "id")

    def get_queryset(self) -> QuerySet:
        return ObjectionComment.objects.filter(objection=_objection(self.kwargs["pk"]))

    @extend_schema(request=CommentIn, responses={201: CommentOut}, summary="Add to the objection's thread")
    def post(self, request, pk: int):
        objection = _objection(pk)
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        comment = objections.comment_add(
            actor=acting_user(request), objection=objection, body=data.validated_data["body"]
        )
        return Response(CommentOut(comment).data, status=status.HTTP_201_CREATED)


class GapReportView(TenantAPIView):
    scope_area = Area.ALIGNMENT

    @extend_schema(
        responses=GapReportOut, summary="The gap report: the content backlog and the answered objections"
    )
    def get(self, request):
        return Response(GapReportOut(objections.gap_report()).data)


urlpatterns = [
    path("objections/", ObjectionListView.as_view(), name="api-objection-list"),
    path("objections/gaps/", GapReportView.as_view(), name="api-objection-gaps"),
    path("objections/logs/", LogListView.as_view(), name="api-objection-log-list"),
    path("objections/<int:pk>/", ObjectionDetailView.as_view(), name="api-objection-detail"),
    path("objections/<int:pk>/answers/", AnswerListView.as_view(), name="api-objection-answer-list"),
    path(
        "objections/<int:pk>/answers/<int:answer_pk>/",
        AnswerDeleteView.as_view(),
        name="api-objection-answer",
    ),
    path("objections/<int:pk>/comments/", CommentListView.as_view(), name="api-objection-comment-list"),
]
