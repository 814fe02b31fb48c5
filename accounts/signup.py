"""Sign-up that never reveals which addresses have accounts.

Every sign-up ends on the same "check your inbox" page. A new address gets an
inactive account and an activation link; an address that already has an account
gets a note to its owner instead, and no second account is made.
"""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User


def _activation_url(request: HttpRequest, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return request.build_absolute_uri(reverse("accounts:activate", args=[uid, token]))


def signup_request(*, request: HttpRequest, email: str, password: str, time_zone: str = "UTC") -> None:
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=email, password=password, is_active=False, time_zone=time_zone
                )
        except IntegrityError:  # a concurrent sign-up took the address first
            existing = User.objects.get(email__iexact=email)
        else:
            body = render_to_string("accounts/email/activate.txt", {"url": _activation_url(request, user)})
            send_mail("Confirm your account", body, None, [user.email])
            return
    if not existing.is_active and existing.last_login is None:  # a pending sign-up
        body = render_to_string("accounts/email/activate.txt", {"url": _activation_url(request, existing)})
        send_mail("Confirm your account", body, None, [existing.email])
        return
    reset_url = request.build_absolute_uri(reverse("accounts:password_reset"))
    body = render_to_string("accounts/email/already_registered.txt", {"reset_url": reset_url})
    send_mail("Someone tried to sign up with your address", body, None, [existing.email])
