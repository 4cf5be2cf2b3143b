"""The forms that post on a rendered page, with what a browser would send for each of them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

PLAUSIBLE = {
    "text": "Probe",
    "textarea": "Probe",
    "email": "probe@example.com",
    "url": "https://example.com/probe",
    "tel": "+1 555 0100",
    "number": "1",
    "date": "2026-07-01",
    "datetime-local": "2026-07-01T10:00",
}


@dataclass
class PostForm:
    page: str
    action: str
    data: dict[str, list[str]] = field(default_factory=dict)  # what the browser would send, as given
    fields: list[str] = field(default_factory=list)  # the names a person (or a script) can change
    buttons: list[tuple[str, str]] = field(default_factory=list)  # named submit buttons
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type, "select" or "textarea"
    maxlength: dict[str, int] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # element id -> name
    ids_only: dict[str, bool] = field(default_factory=dict)  # name -> its values (options) are all row ids
    first_option: dict[str, str] = field(default_factory=dict)  # select -> its first non-empty option
    multipart: bool = False

    @property
    def key(self) -> tuple:
        return (self.action, tuple(self.fields), tuple(name for name, _ in self.buttons))

    def variants(self) -> list[dict[str, list[str]]]:
        """One submission per named submit button (each is its own operation), or the plain one, with
        empty typed fields filled with a plausible value, so that what is refused is the hostile value
        and not a missing one (a form that is invalid anyway never reaches the service's checks)."""
        data = dict(self.data)
        for name, kind in self.kinds.items():
            if not any(data.get(name, [])) and kind in PLAUSIBLE:
                data[name] = [PLAUSIBLE[kind]]
            elif kind == "select" and not any(data.get(name, [])) and self.first_option.get(name):
                data[name] = [self.first_option[name]]
        if not self.buttons:
            return [data]
        return [{**data, name: [value]} for name, value in self.buttons]


class _Parser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[PostForm] = []
        self._form: PostForm | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            if (a.get("method") or "").lower() == "post":
                self._form = PostForm(
                    page=self.page,
                    action=a.get("action") or self.page,
                    multipart="multipart" in (a.get("enctype") or ""),
                )
                self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None:
            return
        if name and tag in ("input", "select", "textarea"):
            kind = (a.get("type") or "text").lower() if tag == "input" else tag
            form.kinds.setdefault(name, kind)
            if a.get("maxlength", "").isdigit():
                form.maxlength[name] = int(a["maxlength"])
            if a.get("id"):
                form.ids[a["id"]] = name
        if tag == "button" and name and (a.get("type") or "submit") == "submit":
            form.buttons.append((name, a.get("value", "")))
        elif tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image", "button", "reset"):
                if name:
                    form.buttons.append((name, a.get("value", "")))
                return
            if kind != "file" and name != "csrfmiddlewaretoken" and name not in form.fields:
                form.fields.append(name)
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.data.setdefault(name, []).append(a.get("value") or "on")
            elif kind != "file":
                form.data.setdefault(name, []).append(a.get("value", ""))
                if kind == "hidden":
                    form.ids_only[name] = a.get("value", "").isdigit()
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, None
            if name not in form.fields:
                form.fields.append(name)
        elif tag == "option" and self._select:
            value = a.get("value", "")
            form.ids_only[self._select] = form.ids_only.get(self._select, True) and (
                value.isdigit() or value == ""
            )
            if self._select_first is None:
                self._select_first = value
            if value:
                form.first_option.setdefault(self._select, value)
            if "selected" in a and self._select_chosen is None:
                self._select_chosen = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""
            if name not in form.fields:
                form.fields.append(name)

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select and self._form is not None:
            chosen = self._select_chosen if self._select_chosen is not None else self._select_first
            if chosen is not None:
                self._form.data.setdefault(self._select, []).append(chosen)
            self._select = None
        elif tag == "textarea" and self._textarea and self._form is not None:
            self._form.data.setdefault(self._textarea, []).append(self._text.lstrip("\n"))
            self._textarea = None


def post_forms(page: str, html: str) -> list[PostForm]:
    parser = _Parser(page)
    parser.feed(html)
    return parser.forms


_FIELD_BLOCK = re.compile(r'<div class="field( has-error)?">')


_ERRORS = re.compile(
    r'<div class="(?:field-error|form-errors)"[^>]*>(.*?)</div>'
    r'|<div class="alert alert-(?:error|danger)[^"]*"[^>]*>(.*?)</div>',
    re.DOTALL,
)


def field_in_error(html: str, name: str, label: str = "") -> bool:
    """Whether the re-rendered page shows an error on ``name``: the includes/field.html block that holds
    its input carries has-error, or an error message names the field (by its label or its name)."""
    for match in re.finditer(rf'\sname="{re.escape(name)}"', html):
        blocks = list(_FIELD_BLOCK.finditer(html, 0, match.start()))
        if blocks and blocks[-1].group(1):
            return True
    words = {_plain(w) for w in (label, name) if w}
    messages = _plain(" ".join(a or b for a, b in _ERRORS.findall(html)))
    return any(word in messages for word in words)


def _plain(text: str) -> str:
    return re.sub(r"[-_\s]+", " ", text).lower()


_LABEL = re.compile(r'<label[^>]*\bfor="([^"]+)"[^>]*>(.*?)</label>', re.DOTALL)


def labels(html: str) -> dict[str, str]:
    """element id -> its label's text."""
    return {for_id: re.sub(r"<[^>]+>", "", text).strip() for for_id, text in _LABEL.findall(html)}
