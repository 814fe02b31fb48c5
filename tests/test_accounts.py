import json
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.forms import GENERIC_LOGIN_ERROR
from accounts.models import LoginFailure, User, UserSession
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _link(message: str) -> str:
    match = re.search(r"https?://\S+", message)
    assert match, message
    return match.group(0)


def test_signup_creates_inactive_account_and_activation_link_logs_in_once(client):
    response = client.post(reverse("accounts:signup"), {"email": "New@Example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    user = User.objects.get()
    assert user.email == "new@example.com"
    assert not user.is_active
    assert len(mail.outbox) == 1

    link = _link(mail.outbox[0].body)
    response = client.get(link)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert client.get(reverse("quiz:home")).status_code == 200

    client.post(reverse("accounts:logout"))
    assert client.get(link).status_code == 400  # a used link does not work twice


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("Europe/Berlin", "Europe/Berlin"), ("Mars/Olympus_Mons", "UTC"), ("", "UTC"), (None, "UTC")],
)
def test_signup_keeps_the_browsers_time_zone_when_it_is_a_known_one(client, sent, stored):
    data = {"email": "zone@example.com", "password": PASSWORD}
    if sent is not None:
        data["time_zone"] = sent
    assert client.post(reverse("accounts:signup"), data).status_code == 200
    assert User.objects.get().time_zone == stored


def test_the_signup_and_profile_pages_load_the_time_zone_script(client):
    assert b"js/timezone" in client.get(reverse("accounts:signup")).content
    assert b"data-browser-time-zone" in client.get(reverse("accounts:signup")).content
    client.force_login(UserFactory())
    assert b'id="time-zone-hint"' in client.get(reverse("accounts:profile")).content


def test_signup_with_taken_address_shows_same_page_and_notifies_owner(client):
    owner = UserFactory(email="taken@example.com")
    response = client.post(
        reverse("accounts:signup"), {"email": "TAKEN@example.com", "password": "another pass 123"}
    )
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert User.objects.count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert "already has one" in mail.outbox[0].body
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)  # nothing about the account changed


def test_signup_rejects_weak_password_with_a_clear_error(client):
    response = client.post(reverse("accounts:signup"), {"email": "a@example.com", "password": "123"})
    assert response.status_code == 422
    assert b"too short" in response.content
    assert not User.objects.exists()


def test_login_and_logout(client):
    user = UserFactory()
    response = client.post(reverse("accounts:login"), {"username": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("quiz:home")).status_code == 200
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("quiz:home")).status_code == 302


def test_logout_needs_post(client):
    UserFactory()
    assert client.get(reverse("accounts:logout")).status_code == 405


def test_wrong_password_and_unknown_account_show_the_same_message(client):
    UserFactory(email="real@example.com")
    wrong = client.post(reverse("accounts:login"), {"username": "real@example.com", "password": "nope nope"})
    unknown = client.post(
        reverse("accounts:login"), {"username": "ghost@example.com", "password": "nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert GENERIC_LOGIN_ERROR.encode() in wrong.content.replace(b"&#x27;", b"'")
    assert GENERIC_LOGIN_ERROR.encode() in unknown.content.replace(b"&#x27;", b"'")


def test_login_is_throttled_per_account_then_recovers(client, settings, freezer=None):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    user = UserFactory()
    for _ in range(3):
        client.post(reverse("accounts:login"), {"username": user.email, "password": "wrong pass"})
    # Even the right password is refused while throttled, with the same message.
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

    # Failures expire with the window: the owner is never locked out for good.
    LoginFailure.objects.update(created_at="2000-01-01T00:00:00Z")
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_login_is_throttled_per_address_across_accounts(client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 4
    settings.LOGIN_FAILURES_PER_ACCOUNT = 100
    user = UserFactory()
    for n in range(4):
        client.post(reverse("accounts:login"), {"username": f"x{n}@example.com", "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200
    # Another address is unaffected.
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD}, REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code == 302


def test_password_reset_link_works_once_and_clears_throttle(client, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    user = UserFactory()
    for _ in range(2):
        client.post(reverse("accounts:login"), {"username": user.email, "password": "wrong"})
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0].body)
    response = client.get(link, follow=True)  # Django swaps the token into the session
    form_url = response.redirect_chain[-1][0]
    new = "a brand new passphrase 42"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert not LoginFailure.objects.filter(email=user.email).exists()
    # The link does not work a second time.
    response = client.get(link, follow=True)
    assert b"no longer valid" in response.content


def test_password_reset_for_unknown_address_looks_the_same(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "ghost@example.com"}, follow=True)
    assert b"Check your inbox" in response.content
    assert mail.outbox == []


def test_change_password(client):
    user = UserFactory()
    client.force_login(user)
    new = "another long passphrase 7"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_profile_saves_and_rejects_bad_time_zone(client):
    user = UserFactory()
    client.force_login(user)
    data = {
        "display_name": "Ana",
        "time_zone": "Europe/Lisbon",
        "extra_time_minutes": 30,
        "keyboard_shortcuts": "on",
    }
    assert client.post(reverse("accounts:profile"), data).status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.time_zone, user.extra_time_minutes) == ("Ana", "Europe/Lisbon", 30)

    response = client.post(reverse("accounts:profile"), {**data, "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    user.refresh_from_db()
    assert user.time_zone == "Europe/Lisbon"


def test_download_my_data(client):
    user = UserFactory(display_name="Bo")
    client.force_login(user)
    response = client.get(reverse("accounts:download_data"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["account"]["email"] == user.email
    assert data["account"]["display_name"] == "Bo"
    assert data["attempts"] == []


def test_delete_account_needs_password_and_removes_data(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("accounts:delete"), {"password": "wrong"})
    assert response.status_code == 422
    assert User.objects.filter(pk=user.pk).exists()
    response = client.post(reverse("accounts:delete"), {"password": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize(
    "name",
    [
        "quiz:home",
        "quiz:start",
        "quiz:history",
        "accounts:profile",
        "accounts:download_data",
        "accounts:delete",
    ],
)
def test_pages_needing_login_redirect_anonymous_users(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_emails_are_unique_ignoring_case():
    from django.db import IntegrityError

    UserFactory(email="same@example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="SAME@example.com", password="x")


def _visible(response) -> str:
    """The page as a visitor sees it, minus the per-request CSRF token."""
    import re as _re

    body = _re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return _re.sub(r'"X-CSRFToken": "[^"]+"', "", body)


def test_hundred_rapid_wrong_passwords_throttle_without_revealing_the_account(client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 1000
    real = UserFactory(email="real@example.com")
    other = client.__class__()
    for n in range(100):
        mine = client.post(reverse("accounts:login"), {"username": real.email, "password": f"wrong {n}"})
        ghost = other.post(
            reverse("accounts:login"), {"username": "ghost@example.com", "password": f"wrong {n}"}
        )
        assert mine.status_code == ghost.status_code == 200
        assert _visible(mine).replace(real.email, "X") == _visible(ghost).replace("ghost@example.com", "X")
    # Throttled now: even the right password is refused.
    response = client.post(reverse("accounts:login"), {"username": real.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    # Not locked out for good: once the window passes, the owner gets in.
    LoginFailure.objects.update(created_at="2000-01-01T00:00:00Z")
    response = client.post(reverse("accounts:login"), {"username": real.email, "password": PASSWORD})
    assert response.status_code == 302


def test_many_accounts_from_one_address_are_throttled_per_address(client, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1000
    settings.LOGIN_FAILURES_PER_ADDRESS = 20
    victims = [UserFactory() for _ in range(5)]
    for n in range(100):
        client.post(reverse("accounts:login"), {"username": victims[n % 5].email, "password": "guess"})
    assert LoginFailure.objects.filter(address="127.0.0.1").count() == 100
    response = client.post(reverse("accounts:login"), {"username": victims[0].email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200


def test_sessions_read_with_plain_queries_still_expire_and_drop_deactivated_users(client):
    """accounts.sessions and EmailBackend.get_user skip the ORM compiler, not the rules."""
    import datetime as dt

    from django.utils import timezone

    user = UserFactory()
    client.force_login(user)
    dashboard = reverse("quiz:history")
    assert client.get(dashboard).status_code == 200

    UserSession.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(dashboard).status_code == 302  # expired: signed out

    client.force_login(user)
    assert client.get(dashboard).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(dashboard).status_code == 302  # deactivated: signed out

    User.objects.filter(pk=user.pk).update(is_active=True)
    assert client.get(dashboard).status_code == 200
    user.set_password("a-new-password-123")
    user.save()
    assert client.get(dashboard).status_code == 302  # password changed elsewhere: signed out


def test_the_session_row_names_its_user_and_goes_with_them(client):
    user = UserFactory()
    client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    session = UserSession.objects.get(session_key=client.session.session_key)
    assert session.user_id == user.pk
    user.delete()
    assert not UserSession.objects.filter(pk=session.pk).exists()


def test_the_user_read_with_the_session_serves_one_get_user_call_only(client):
    from accounts.backends import EmailBackend

    user = UserFactory(display_name="Before")
    client.force_login(user)
    assert client.get(reverse("quiz:history")).status_code == 200  # read the session and its user together
    User.objects.filter(pk=user.pk).update(display_name="After")
    assert EmailBackend().get_user(user.pk).display_name == "After"  # not the row from the request


def test_migration_copies_live_sessions_with_their_user():
    import datetime as dt
    import importlib

    from django.apps import apps
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    migration = importlib.import_module("accounts.migrations.0002_usersession")
    user = UserFactory()
    store, later = SessionStore(), timezone.now() + dt.timedelta(days=1)
    Session.objects.create(
        session_key="a" * 32, session_data=store.encode({SESSION_KEY: str(user.pk)}), expire_date=later
    )
    Session.objects.create(session_key="b" * 32, session_data=store.encode({"cart": 1}), expire_date=later)
    Session.objects.create(
        session_key="c" * 32, session_data=store.encode({SESSION_KEY: str(user.pk)}),
        expire_date=timezone.now() - dt.timedelta(seconds=1),
    )  # fmt: skip
    migration.copy_live_sessions(apps, None)
    copied = dict(UserSession.objects.values_list("session_key", "user_id"))
    assert copied == {"a" * 32: user.pk, "b" * 32: None}


def test_the_user_read_with_the_session_has_the_types_the_orm_gives(client):
    """accounts.sessions reads the user with a raw query; its values still go through
    the backend's converters (SQLite returns naive datetimes and 0/1 for booleans)."""
    user = UserFactory()
    client.force_login(user)
    request_user = client.get(reverse("quiz:home")).wsgi_request.user
    orm_user = type(user).objects.get(pk=user.pk)
    assert request_user.pk == user.pk
    assert timezone.is_aware(request_user.date_joined) and timezone.is_aware(request_user.last_login)
    assert request_user.is_active is True and request_user.is_staff is False
    for field in type(user)._meta.concrete_fields:
        assert getattr(request_user, field.attname) == getattr(orm_user, field.attname), field.name


def test_error_pages_speak_to_the_learner_inside_the_site(client):
    from django.template.loader import render_to_string
    from django.test import Client

    user = UserFactory()
    other = UserFactory()
    client.force_login(other)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    body = missing.content.decode()
    assert "There is nothing here, or it belongs to another account." in body and "Log out" in body

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    stale = strict.post(reverse("quiz:start"), {"exam": "X"})
    assert stale.status_code == 403
    assert "This form was out of date" in stale.content.decode()

    # The 500 page stands alone: no database, no context processors.
    assert "Something went wrong" in render_to_string("500.html")


def test_every_page_carries_the_sites_name_even_where_auth_views_set_their_own(client, settings):
    settings.SITE_NAME = "AWS Exam Practice"
    for name in ("accounts:login", "accounts:signup", "accounts:password_reset"):
        body = client.get(reverse(name)).content.decode()
        assert '<a class="brand" href="/">AWS Exam Practice</a>' in body, name
        assert "testserver</a>" not in body, name


def test_pages_show_dates_and_times_in_the_learners_time_zone(client):
    import datetime as dt

    from quiz.models import Attempt
    from tests.factories import make_exam

    exam = make_exam()
    user = UserFactory(time_zone="Australia/Sydney")
    started = dt.datetime(2026, 12, 5, 20, 30, tzinfo=dt.UTC)  # 07:30 on 6 December in Sydney (UTC+11)
    Attempt.objects.create(user=user, exam=exam, mode="full", started_at=started, question_count=1)
    Attempt.objects.filter(user=user).update(started_at=started)
    client.force_login(user)
    assert "2026-12-06 07:30" in client.get(reverse("quiz:history")).content.decode()
    user.time_zone = "UTC"
    user.save(update_fields=["time_zone"])
    assert "2026-12-05 20:30" in client.get(reverse("quiz:history")).content.decode()


def test_account_forms_refuse_nul_characters_without_a_server_error(client):
    """PostgreSQL refuses NUL in text: each form must reject it before any query uses it."""
    user = UserFactory(email="real@example.com")
    login = client.post(reverse("accounts:login"), {"username": "real\x00@example.com", "password": "x\x00"})
    assert login.status_code == 200 and "Null characters are not allowed." in login.content.decode()
    assert "_auth_user_id" not in client.session
    assert (
        client.post(
            reverse("accounts:signup"), {"email": "a\x00@x.com", "password": "long enough pass 9"}
        ).status_code
        < 500
    )
    assert client.post(reverse("accounts:password_reset"), {"email": "a\x00@x.com"}).status_code < 500
    client.force_login(user)
    profile = client.post(reverse("accounts:profile"), {"display_name": "x\x00", "time_zone": "UTC\x00"})
    assert profile.status_code < 500
    user.refresh_from_db()
    assert "\x00" not in user.display_name and user.time_zone == "UTC"


def test_beat_clears_expired_sessions_nightly_and_keeps_live_ones(client):
    import datetime as dt

    from django.conf import settings as django_settings

    from accounts.tasks import clear_expired_sessions
    from quiz.celery import app

    user = UserFactory()
    client.force_login(user)
    live = UserSession.objects.get(user=user)
    UserSession.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - dt.timedelta(seconds=1), user=user
    )
    assert clear_expired_sessions() == 1
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert client.get(reverse("quiz:home")).status_code == 200  # still signed in
    # Beat runs it: the schedule names a task the worker knows.
    entry = django_settings.CELERY_BEAT_SCHEDULE["nightly-clear-expired-sessions"]
    assert entry["task"] in app.tasks
