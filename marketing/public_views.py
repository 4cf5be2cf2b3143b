"""The public side of lead capture forms: ``/f/<key>/`` on the workspace host, no login, no CSRF token.

Anyone may post, from any site, so the endpoint only ever answers with what the poster sent and the
form's own public text. It sets no cookie and sends no CORS header.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.throttle import address_bucket, client_ip, over_limit
from config.api import VALIDATION_MESSAGE, error_body
from config.views import not_found_response

from .models import LeadForm
from .services.forms import HONEYPOT, UTM_FIELDS, form_active_by_key, form_submit

FORM_THROTTLE = "form-submit"  # the per-address counter of submissions (hashed address, in the cache)

SUBMISSIONS_PER_ADDRESS = 20
WINDOW_SECONDS = 10 * 60
# Well above the service's 20 KB of answers (URL encoding can triple them); refused before parsing.
MAX_BODY_BYTES = 64 * 1024
THROTTLED = "Too many submissions from your address. Please try again in a few minutes."
HIDDEN_FIELDS = (*UTM_FIELDS, "referrer")


def _widget_field(spec: dict) -> forms.Field:
    common = {"label": spec["label"], "required": spec["required"]}
    match spec["type"]:
        case "checkbox":
            return forms.BooleanField(**common)
        case "select":
            return forms.ChoiceField(choices=[("", "Choose…"), *((o, o) for o in spec["options"])], **common)
        case "textarea":
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}), **common)
        case "email":
            return forms.EmailField(**common)
        case "tel":
            return forms.CharField(widget=forms.TextInput(attrs={"type": "tel"}), **common)
        case _:
            return forms.CharField(widget=forms.TextInput(attrs={"maxlength": 2000}), **common)


class HostedForm(forms.Form):
    """A lead form's fields, rendered with the shared field include. ``form_submit`` validates; this
    form only shows its errors."""

    def __init__(self, lead_form: LeadForm, data: Any = None, errors: dict[str, list[str]] | None = None):
        super().__init__(data=data)
        self.service_errors = errors or {}
        for spec in lead_form.fields:
            self.fields[spec["name"]] = _widget_field(spec)

    def full_clean(self) -> None:
        self._errors = ErrorDict()
        self.cleaned_data = {}
        for name, messages in self.service_errors.items():
            for message in messages:
                if name in self.fields:
                    self.add_error(name, message)
                else:
                    self.add_error(None, message if name == NON_FIELD_ERRORS else f"{name}: {message}")


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get(
        "Accept", ""
    )


def _posted(request: HttpRequest) -> QueryDict | dict:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_BODY_BYTES + 1
    if length > MAX_BODY_BYTES:
        raise ValidationError({NON_FIELD_ERRORS: ["The submission is too large."]})
    if request.content_type != "application/json":
        return request.POST
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ValidationError({NON_FIELD_ERRORS: ["Send a JSON object of field names and values."]})
    return data


def _meta(request: HttpRequest, data: QueryDict | dict) -> dict[str, str]:
    # The hosted page carries the visitor's original referrer in a hidden field; an embedded form
    # has none, and the page it sits on is the best referrer there is.
    page_url = request.headers.get("Referer", "")
    posted = data.get("referrer")
    return {
        "ip": client_ip(request),
        "user_agent": request.headers.get("User-Agent", ""),
        "referrer": posted if isinstance(posted, str) and posted else page_url,
        "page_url": page_url,
    }


def _hidden(values: Any) -> list[tuple[str, str]]:
    pairs = [(name, values.get(name)) for name in HIDDEN_FIELDS]
    return [
        (name, value.replace("\x00", "")[:2000]) for name, value in pairs if isinstance(value, str) and value
    ]


def _not_found(request: HttpRequest, wants_json: bool) -> HttpResponse:
    if wants_json:
        return JsonResponse(error_body(404, "not_found", "Unknown form."), status=404)
    return not_found_response(request)


def _refused(
    request: HttpRequest, lead_form: LeadForm, status: int, errors: dict[str, list[str]], data: Any
) -> HttpResponse:
    if _wants_json(request):
        fields = {("non_field_errors" if k == NON_FIELD_ERRORS else k): v for k, v in errors.items()}
        code, message = ("throttled", THROTTLED) if status == 429 else ("invalid", VALIDATION_MESSAGE)
        return JsonResponse(error_body(status, code, message, fields), status=status)
    bound = data if isinstance(data, QueryDict) else None
    context = {
        "lead_form": lead_form,
        "form": HostedForm(lead_form, data=bound, errors=errors),
        "hidden": _hidden(bound or {}),
        "honeypot": HONEYPOT,
    }
    return render(request, "marketing/public/form.html", context, status=status)


def _received(request: HttpRequest, lead_form: LeadForm) -> HttpResponse:
    if _wants_json(request):
        body = {
            "status": "received",
            "message": lead_form.thank_you_text,
            "redirect_url": lead_form.redirect_url,
        }
        return JsonResponse(body, status=201)
    if lead_form.redirect_url:
        return HttpResponseRedirect(lead_form.redirect_url, status=303)
    return render(request, "marketing/public/thank_you.html", {"lead_form": lead_form})


def _page(request: HttpRequest, key: str) -> HttpResponse:
    lead_form = form_active_by_key(key=key)
    if lead_form is None:
        return not_found_response(request)
    hidden = _hidden({**request.GET.dict(), "referrer": request.headers.get("Referer", "")})
    context = {"lead_form": lead_form, "form": HostedForm(lead_form), "hidden": hidden, "honeypot": HONEYPOT}
    return render(request, "marketing/public/form.html", context)


def _submit(request: HttpRequest, key: str) -> HttpResponse:
    wants_json = _wants_json(request)
    # Counted before the key is looked up, so guessing keys is throttled too.
    limited = over_limit(
        address_bucket(FORM_THROTTLE, client_ip(request)),
        limit=SUBMISSIONS_PER_ADDRESS,
        window_seconds=WINDOW_SECONDS,
    )
    if limited:
        lead_form = form_active_by_key(key=key)
        if lead_form is None:
            return _not_found(request, wants_json)
        return _refused(request, lead_form, 429, {NON_FIELD_ERRORS: [THROTTLED]}, None)
    data: QueryDict | dict | None = None
    try:
        data = _posted(request)
        submission = form_submit(key=key, data=data, meta=_meta(request, data))
    except LeadForm.DoesNotExist:
        return _not_found(request, wants_json)
    except ValidationError as exc:
        lead_form = form_active_by_key(key=key)
        if lead_form is None:
            return _not_found(request, wants_json)
        return _refused(request, lead_form, 400, exc.message_dict, data)
    return _received(request, submission.form)


# The hosted page may be shown in a frame on the customer's site; the answer to its POST (errors or
# thank-you) is shown in that same frame, so it is exempt too.
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def form_public(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "POST":
        return _submit(request, key)
    return _page(request, key)
