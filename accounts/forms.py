from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from accounts import throttle
from accounts.models import User, known_time_zones

GENERIC_LOGIN_ERROR = "That email and password did not match, or sign-in is paused after several failed attempts. Try again in a few minutes or reset your password."


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    # Filled by static/js/timezone.js; without JavaScript, or with a name we do not know, UTC.
    time_zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-browser-time-zone": ""})
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data.get("time_zone") or ""
        return zone if zone in known_time_zones() else "UTC"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("email"):
            try:
                password_validation.validate_password(data["password"], User(email=data["email"]))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form plus per-account and per-address throttling.

    Every refusal, throttled or not, existing account or not, shows one message.
    """

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {"invalid_login": GENERIC_LOGIN_ERROR, "inactive": GENERIC_LOGIN_ERROR}

    def clean(self) -> dict[str, Any]:
        # NUL removed: PostgreSQL refuses it in text (the email field itself rejects the value).
        email = str(self.data.get("username") or "").replace("\x00", "").strip().lower()
        address = self.request.META.get("REMOTE_ADDR") if self.request else None
        if email and throttle.is_throttled(email=email, address=address):
            throttle.record_failure(email=email, address=address)
            raise forms.ValidationError(GENERIC_LOGIN_ERROR, code="invalid_login")
        try:
            return super().clean()
        except forms.ValidationError:
            if email:
                throttle.record_failure(email=email, address=address)
            raise


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[])

    class Meta:
        model = User
        fields = [
            "display_name",
            "time_zone",
            "target_exam",
            "exam_date",
            "extra_time_minutes",
            "keyboard_shortcuts",
        ]
        widgets = {"exam_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        time_zone = self.fields["time_zone"]
        assert isinstance(time_zone, forms.ChoiceField)
        time_zone.choices = [(z, z) for z in sorted(known_time_zones())]
        self.fields["extra_time_minutes"].widget.attrs.update({"min": 0, "max": 120, "step": 5})

    def clean_extra_time_minutes(self) -> int:
        value = self.cleaned_data["extra_time_minutes"]
        if value > 120:
            raise forms.ValidationError("At most 120 minutes of extra time.")
        return value


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.")
        return password
