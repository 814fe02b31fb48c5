"""Who may do what: every URL of the project's apps (and the admin's entry) x five kinds of visitor.

Another user's object is 404. A URL pattern missing from MATRIX fails the test, so
a new view cannot ship without deciding who may use it.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from quiz import services
from quiz.models import Attempt
from tests.factories import PASSWORD, UserFactory, make_exam

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "owner", "other", "staff", "inactive")
LOGIN = 302  # redirect to the login page
# name: (method, needs, {role: status}); needs = "" | "open" (an open practice attempt) | "done" (a submitted one)
PAGE = {"anonymous": LOGIN, "owner": 200, "other": 200, "staff": 200, "inactive": LOGIN}
MINE_OPEN = {"anonymous": LOGIN, "owner": 200, "other": 404, "staff": 404, "inactive": LOGIN}
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "quiz:home": ("get", "", PAGE),
    "quiz:start": ("get", "", PAGE),
    "quiz:start_recommended": ("get", "exam", {**PAGE, "owner": 302, "other": 302, "staff": 302}),
    "quiz:history": ("get", "", PAGE),
    "quiz:attempt": ("get", "open", {**MINE_OPEN, "owner": 302}),
    "quiz:question": ("get", "open", MINE_OPEN),
    "quiz:save_answer": ("post", "open", MINE_OPEN),
    "quiz:flag": ("post", "open", MINE_OPEN),
    "quiz:check_answer": ("post", "open", {**MINE_OPEN, "owner": 422}),
    "quiz:report_problem": ("post", "done", {**MINE_OPEN, "owner": 302}),
    "quiz:clock": ("get", "open", MINE_OPEN),
    "quiz:submit_review": ("get", "open", MINE_OPEN),
    "quiz:submit": ("post", "open", {**MINE_OPEN, "owner": 302}),
    "quiz:abandon": ("post", "open", {**MINE_OPEN, "owner": 302}),
    "quiz:results": ("get", "done", MINE_OPEN),
    "quiz:review": ("get", "done", MINE_OPEN),
    "accounts:signup": (
        "get",
        "",
        {"anonymous": 200, "owner": 302, "other": 302, "staff": 302, "inactive": 200},
    ),
    "accounts:activate": ("get", "token", dict.fromkeys(ROLES, 400)),
    "accounts:login": (
        "get",
        "",
        {"anonymous": 200, "owner": 302, "other": 302, "staff": 302, "inactive": 200},
    ),
    "accounts:logout": ("post", "", dict.fromkeys(ROLES, 302)),
    "accounts:profile": ("get", "", PAGE),
    "accounts:download_data": ("get", "", PAGE),
    "accounts:delete": ("get", "", PAGE),
    "accounts:password_change": ("get", "", PAGE),
    "accounts:password_reset": ("get", "", dict.fromkeys(ROLES, 200)),
    "accounts:password_reset_done": ("get", "", dict.fromkeys(ROLES, 200)),
    "accounts:password_reset_confirm": ("get", "token", dict.fromkeys(ROLES, 200)),
    "accounts:password_reset_complete": ("get", "", dict.fromkeys(ROLES, 200)),
    "healthz": ("get", "", dict.fromkeys(ROLES, 200)),
    "admin:index": ("get", "", {"anonymous": 302, "owner": 302, "other": 302, "staff": 200, "inactive": 302}),
}


def _project_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, prefix: str) -> None:  # type: ignore[no-untyped-def]
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue  # the admin's own views: its entry point is in the matrix
                walk(p.url_patterns, f"{prefix}{p.namespace}:" if p.namespace else prefix)
            elif isinstance(p, URLPattern) and p.name:
                names.add(prefix + p.name)

    walk(get_resolver().url_patterns, "")
    return names


def test_every_url_pattern_is_in_the_matrix():
    missing = _project_url_names() - set(MATRIX)
    assert not missing, f"add these to MATRIX: {sorted(missing)}"


@pytest.fixture
def world():
    exam = make_exam()
    owner = UserFactory()
    users = {
        "owner": owner,
        "other": UserFactory(),
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "inactive": UserFactory(is_active=False),
    }
    open_attempt = services.attempt_start(
        user=owner, exam=exam, options=services.StartOptions(mode="practice", count=4), now=timezone.now()
    )
    other_exam = make_exam("OTH-C01")
    done = services.attempt_start(
        user=owner, exam=other_exam, options=services.StartOptions(mode="drill", count=3), now=timezone.now()
    )
    done = services.attempt_submit(user=owner, attempt_id=done.pk, now=timezone.now())
    return {"exam": exam, "users": users, "open": open_attempt, "done": done}


def _url(name: str, needs: str, world) -> str:  # type: ignore[no-untyped-def]
    if needs in {"open", "done"}:
        attempt = world[needs]
        positional = name in {
            "quiz:question",
            "quiz:save_answer",
            "quiz:flag",
            "quiz:check_answer",
            "quiz:report_problem",
        }
        return reverse(name, args=[attempt.pk, 0] if positional else [attempt.pk])
    if needs == "token":
        return reverse(name, args=["MQ", "set-password" if "reset" in name else "bad-token"])
    if needs == "exam":
        return reverse(name) + f"?exam={world['exam'].code}"
    return reverse(name)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_authorization_matrix(client, world, name, role):
    method, needs, expected = MATRIX[name]
    user = world["users"].get(role)
    if user is not None:
        if role == "inactive":
            client.login(username=user.email, password=PASSWORD)  # refused: stays anonymous
            client.force_login(user)  # even a forced session of a deactivated user is not honoured
        else:
            client.force_login(user)
    before = {
        a.pk: (a.status, list(a.items.values_list("selected", "flagged", "checked")))
        for a in Attempt.objects.all()
    }
    data = {"seq": 1, "confirm": "yes", "flagged": "1", "message": "A real report text"}
    response = getattr(client, method)(_url(name, needs, world), data if method == "post" else None)
    status = response.status_code
    if status == 302 and expected[role] == LOGIN and role in {"anonymous", "inactive"}:
        assert "/accounts/login/" in response["Location"] or "/admin/login/" in response["Location"]
    assert status == expected[role], f"{name} as {role}: {status}"
    if expected[role] == 404 or role in {"anonymous", "inactive"}:
        after = {
            a.pk: (a.status, list(a.items.values_list("selected", "flagged", "checked")))
            for a in Attempt.objects.all()
        }
        assert after == before
