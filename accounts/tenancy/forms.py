from __future__ import annotations

from django import forms
from django.conf import settings

from accounts.forms import LoginForm

from .validators import SLUG_MAX_LENGTH


class SignupForm(forms.Form):
    """Field types only; the rules live in ``services.signup_validate`` so the API shares them."""

    company_name = forms.CharField(label="Company name", max_length=100)
    slug = forms.CharField(
        label="Workspace address",
        max_length=SLUG_MAX_LENGTH + 10,
        help_text="Lower-case letters, digits and hyphens.",
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    admin_name = forms.CharField(label="Your name", max_length=150)
    admin_email = forms.EmailField(label="Work email", max_length=254)
    admin_password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password, not only digits.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = (
            f"Lower-case letters, digits and hyphens. Your workspace will live at "
            f"<name>.{settings.TANDEM_BASE_DOMAIN}."
        )


class ConsoleLoginForm(LoginForm):
    """The workspace login form, throttled the same way, checked against platform admins."""
