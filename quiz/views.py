from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from questions.models import Exam, Tag
from quiz import services, spacing
from quiz.assembly import NotEnoughQuestions
from quiz.forms import ProblemReportForm, StartForm
from quiz.health import broker_state, database_state
from quiz.itemstats import shown_to_learners
from quiz.models import Attempt, AttemptItem, ProblemReport, Report


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _get_attempt_for_user(request: HttpRequest, attempt_id: int) -> Attempt:
    """The attempt if it belongs to the requester; 404 for anyone else's."""
    return get_object_or_404(Attempt.objects.select_related("exam"), pk=attempt_id, user=_user(request))


def _get_item(attempt: Attempt, position: int) -> AttemptItem:
    try:
        return attempt.items.select_related("version").get(position=position)
    except ObjectDoesNotExist:
        raise Http404("No such question in this attempt") from None


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 whenever this process can serve; dependency state is in the body.

    A broker or database outage must not take every web node out of the load
    balancer, so only the process itself decides the status code.
    """
    return JsonResponse({"status": "ok", "database": database_state(), "broker": broker_state()})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from quiz.dashboard import dashboard_context

    context = dashboard_context(_user(request), request.GET.get("exam"))
    template = "quiz/home.html#report-panel" if _is_htmx(request) else "quiz/home.html"
    return render(request, template, context)


@login_required
def start(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = StartForm(request.POST or None, initial=StartForm.initial_from(request.GET, user))
    shortage = nothing_due = None
    if request.method == "POST" and form.is_valid():
        exam: Exam = form.cleaned_data["exam"]
        now = timezone.now()
        try:
            attempt = services.attempt_start(user=user, exam=exam, options=form.options(), now=now)
        except NotEnoughQuestions as exc:
            shortage = exc
        except spacing.NothingDue as exc:
            zone = zoneinfo.ZoneInfo(user.time_zone)
            nothing_due = spacing.review_summary((card.due for card in exc.upcoming), now, zone)
        else:
            if attempt.started_at != now:  # the service returned the open attempt it found
                messages.info(request, "You have an attempt in progress for this exam: resuming it.")
                return redirect("quiz:attempt", attempt_id=attempt.pk)
            # Straight to question 1, not through the resume URL: one request fewer for
            # everyone pressing Start at the same moment.
            return redirect("quiz:question", attempt_id=attempt.pk, position=attempt.current_position)
    if _is_htmx(request) and request.method == "GET":  # another exam chosen: its options only
        return render(request, "quiz/start.html#exam-options", {"form": form})
    open_attempts = Attempt.objects.filter(user=user, status=Attempt.Status.OPEN).select_related("exam")
    return render(
        request,
        "quiz/start.html",
        {"form": form, "shortage": shortage, "nothing_due": nothing_due, "open_attempts": open_attempts},
        status=422 if (form.errors or shortage or nothing_due) else 200,
    )


@login_required
def attempt_resume(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    attempt = services.finalize_if_expired(attempt=attempt, now=timezone.now())
    if not attempt.is_open:
        return redirect("quiz:results", attempt_id=attempt.pk)
    return redirect("quiz:question", attempt_id=attempt.pk, position=attempt.current_position)


@login_required
@require_GET
def question(request: HttpRequest, attempt_id: int, position: int) -> HttpResponse:
    now = timezone.now()
    attempt = _get_attempt_for_user(request, attempt_id)
    attempt = services.finalize_if_expired(attempt=attempt, now=now)
    if not attempt.is_open:
        return redirect("quiz:results", attempt_id=attempt.pk)
    item = _get_item(attempt, position)
    if position != attempt.current_position:
        services.note_position(attempt=attempt, position=position, now=now)
    navigator = _navigator(attempt, position)
    context = {
        "attempt": attempt,
        "item": item,
        "data": item.version.data,
        "choices": item.display_choices(),
        "navigator": navigator,
        "remaining": attempt.remaining_seconds(now),
        "previous": position - 1 if position > 0 else None,
        "next": position + 1 if position + 1 < attempt.question_count else None,
        "shortcuts": _user(request).keyboard_shortcuts,
        # A checked answer keeps showing its result when the learner comes back to it.
        **(_checked(attempt, item, _user(request)) if item.checked else {}),
    }
    template = "quiz/question.html#exam-panel" if _is_htmx(request) else "quiz/question.html"
    return render(request, template, context)


def _navigator(attempt: Attempt, current: int) -> SafeString:
    """The navigator's list items, one per question.

    Built as plain text: every value is an integer, one of the fixed strings below,
    or a URL made of the escaped ``reverse`` prefix and an integer. The
    navigator lists every question (65 in a full mock) on every question page;
    through the template loop, and then through ``format_html``, it was most of the
    page's rendering time.
    """
    rows = attempt.items.values_list("position", "selected", "flagged").order_by("position")
    urls = _question_urls(attempt.pk, len(rows))
    cells = []
    for (position, selected, flagged), url in zip(rows, urls, strict=True):
        here = position == current
        css = "nav-item" + " answered" * bool(selected) + " flagged" * flagged + " current" * here
        aria = ' aria-current="step"' if here else ""
        label = (" answered" if selected else " unanswered") + (", flagged" if flagged else "")
        cells.append(
            f'<li><a href="{url}" hx-get="{url}" hx-target="#exam-panel" hx-swap="outerHTML" hx-push-url="true"'
            f' class="{css}" data-nav-position="{position}"{aria}>'
            f'{position + 1}<span class="visually-hidden">{label}</span></a></li>'
        )
    return mark_safe("\n".join(cells))  # noqa: S308 - integers, reversed URLs and fixed strings only


def _question_urls(attempt_id: int, count: int) -> list[str]:
    """Every question's URL, HTML-escaped, with one ``reverse`` (the navigator links all 65)."""
    first = reverse("quiz:question", args=[attempt_id, 0])
    head = escape(first.removesuffix("/0/"))  # a script prefix could hold "&"
    return [f"{head}/{position}/" for position in range(count)]


def _int(value: Any, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
@require_POST
def save_answer(request: HttpRequest, attempt_id: int, position: int) -> JsonResponse:
    """Record a choice. 200 with the accepted seq; 409/422 with a reason the page shows; 404 if not yours.

    The hot path: the service's one locked query is also the ownership check.
    """
    now = timezone.now()
    seq = _int(request.POST.get("seq"))
    tokens = request.POST.getlist("choice")
    if not 1 <= seq < 2**53 or len(tokens) > 10 or any(len(t) > 40 for t in tokens):
        _get_attempt_for_user(request, attempt_id)  # anyone else's attempt stays a 404
        return JsonResponse({"status": "invalid", "message": "Malformed answer."}, status=422)
    try:
        item = services.answer_save(
            user=_user(request), attempt_id=attempt_id, position=position, tokens=tokens, seq=seq, now=now
        )
    except AttemptItem.DoesNotExist:
        raise Http404("No such question in your attempts") from None
    except services.AnswerRefused as refused:
        return JsonResponse(
            {"status": refused.code, "message": refused.message, "remaining": refused.remaining},
            status=refused.status,
        )
    return JsonResponse(
        {"status": "saved", "seq": item.seq, "remaining": item.attempt.remaining_seconds(now)}
    )


@login_required
@require_POST
def flag(request: HttpRequest, attempt_id: int, position: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    _get_item(attempt, position)
    flagged = request.POST.get("flagged") == "1"
    try:
        item = services.item_flag(
            user=_user(request), attempt_id=attempt.pk, position=position, flagged=flagged
        )
    except services.AnswerRefused as refused:
        return HttpResponse(refused.message, status=refused.status)
    return render(request, "quiz/question.html#flag-button", {"attempt": attempt, "item": item})


@login_required
@require_POST
def check_answer(request: HttpRequest, attempt_id: int, position: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    _get_item(attempt, position)
    try:
        item = services.answer_check(
            user=_user(request), attempt_id=attempt.pk, position=position, now=timezone.now()
        )
    except services.AnswerRefused as refused:
        return render(
            request, "quiz/question.html#check-result", {"refusal": refused.message}, status=refused.status
        )
    context = {"item": item, "data": item.version.data, **_checked(attempt, item, _user(request))}
    return render(request, "quiz/question.html#check-result", context)


def _checked(attempt: Attempt, item: AttemptItem, user: User) -> dict[str, Any]:
    """What a checked answer shows: every option's rationale, how others did and, in a review, when it returns."""
    stat = shown_to_learners([item.version_id]).get(item.version_id)
    spaced = None
    if attempt.mode == Attempt.Mode.MISTAKES:
        spaced = spacing.standing_for(user.pk, attempt.exam_id, [item.question_id], user.time_zone)
    return {"review": item.review_choices(stat), "stat": stat, "spaced": spaced}


@login_required
@require_GET
def clock(request: HttpRequest, attempt_id: int) -> JsonResponse:
    now = timezone.now()
    attempt = _get_attempt_for_user(request, attempt_id)
    return JsonResponse(
        {
            "remaining": attempt.remaining_seconds(now),
            "open": attempt.is_open,
            "accepting": attempt.accepts_answers_at(now),
        }
    )


@login_required
def submit_review(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    attempt = services.finalize_if_expired(attempt=attempt, now=timezone.now())
    if not attempt.is_open:
        return redirect("quiz:results", attempt_id=attempt.pk)
    items = list(attempt.items.values("position", "selected", "flagged"))
    remaining = attempt.remaining_seconds(timezone.now())
    context = {
        "attempt": attempt,
        "unanswered": [i["position"] for i in items if not i["selected"]],
        "flagged": [i["position"] for i in items if i["flagged"]],
        "remaining": remaining,
        "remaining_text": _clock_text(remaining) if remaining is not None else "",
    }
    return render(request, "quiz/submit.html", context)


def _clock_text(seconds: int) -> str:
    """2:08:05, or 8:05 under an hour: as the exam page's clock shows it."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@login_required
@require_POST
def submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    auto = request.POST.get("auto") == "1"
    if not auto and request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the confirmation box to submit.")
        return redirect("quiz:submit_review", attempt_id=attempt.pk)
    services.attempt_submit(user=_user(request), attempt_id=attempt.pk, now=timezone.now(), auto=auto)
    return redirect("quiz:results", attempt_id=attempt.pk)


@login_required
@require_POST
def abandon(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    services.attempt_abandon(user=_user(request), attempt_id=attempt.pk, now=timezone.now())
    messages.info(request, "Attempt abandoned. It has no score.")
    return redirect("quiz:history")


@login_required
def results(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    attempt = services.finalize_if_expired(attempt=attempt, now=timezone.now())
    if attempt.is_open:
        return redirect("quiz:question", attempt_id=attempt.pk, position=attempt.current_position)
    report = Report.objects.filter(user=attempt.user, exam=attempt.exam).only("stale").first()
    minutes, seconds = divmod(attempt.time_used_seconds(), 60)
    time_used = f"{minutes} min {seconds:02d} s"
    spaced = None
    if attempt.mode == Attempt.Mode.MISTAKES and attempt.status == Attempt.Status.SUBMITTED:
        ids = attempt.items.values_list("question_id", flat=True)
        spaced = spacing.standing_for(attempt.user_id, attempt.exam_id, ids, _user(request).time_zone)
    context = {"attempt": attempt, "report": report, "time_used": time_used, "spaced": spaced}
    return render(request, "quiz/results.html", context)


REVIEW_FILTERS = {"all": "All", "incorrect": "Incorrect", "unanswered": "Unanswered", "flagged": "Flagged"}


def _review_shows(key: str, item: AttemptItem) -> bool:
    if key == "incorrect":
        return item.correct is False
    if key == "unanswered":
        return not item.selected
    if key == "flagged":
        return item.flagged
    return True


@login_required
def review(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    if attempt.is_open:
        raise Http404("Review opens when the attempt is submitted")
    show = request.GET.get("show", "all")
    show = show if show in REVIEW_FILTERS else "all"
    domain = _int(request.GET.get("domain"), 0)
    # At most an exam's worth of rows: filter and count them here, so every button can say how many.
    in_domain = [
        i
        for i in attempt.items.select_related("version", "question").order_by("position")
        if not domain or i.domain_number == domain
    ]
    counts = {key: sum(1 for i in in_domain if _review_shows(key, i)) for key in REVIEW_FILTERS}
    items = [i for i in in_domain if _review_shows(show, i)]
    stats = shown_to_learners(i.version_id for i in items)
    rows = [
        {
            "item": i,
            "data": i.version.data,
            "choices": i.review_choices(stats.get(i.version_id)),
            "stat": stats.get(i.version_id),
        }
        for i in items
    ]
    context = {
        "attempt": attempt,
        "rows": rows,
        "show": show,
        "filters": [(key, label, counts[key]) for key, label in REVIEW_FILTERS.items()],
        "domain": domain,
        "domains": attempt.exam.domains.all(),
        "problem_form": ProblemReportForm(),
    }
    return render(request, "quiz/review.html", context)


@login_required
@require_POST
def report_problem(request: HttpRequest, attempt_id: int, position: int) -> HttpResponse:
    attempt = _get_attempt_for_user(request, attempt_id)
    item = _get_item(attempt, position)
    form = ProblemReportForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "quiz/review.html#problem-form",
            {"row": {"item": item}, "attempt": attempt, "problem_form": form},
            status=422,
        )
    ProblemReport.objects.create(
        question_id=item.question_id,
        version=item.version,
        user=_user(request),
        message=form.cleaned_data["message"],
    )
    if _is_htmx(request):
        return render(request, "quiz/review.html#problem-thanks", {})
    messages.success(request, "Thank you: the report reached the authors.")
    return redirect(reverse("quiz:review", args=[attempt.pk]) + f"#q{position + 1}")


@login_required
def history(request: HttpRequest) -> HttpResponse:
    attempts = (
        Attempt.objects.filter(user=_user(request)).select_related("exam").order_by("-started_at")[:200]
    )
    return render(
        request, "quiz/history.html", {"attempts": attempts, "grace": settings.ANSWER_GRACE_SECONDS}
    )


@login_required
def start_recommended(request: HttpRequest) -> HttpResponse:
    """The dashboard's one-click drill from the report's weakest areas."""
    code = request.GET.get("exam", "")
    exam = get_object_or_404(Exam, code=code if "\x00" not in code else "")  # PostgreSQL refuses NUL
    report = Report.objects.filter(user=_user(request), exam=exam).first()
    if report is None or not report.data:
        return redirect(reverse("quiz:start") + f"?exam={exam.code}")
    params = f"?exam={exam.code}&mode=drill&count=10&domains=" + ",".join(
        map(str, report.data.get("weakest_domains", []))
    )
    tag_ids = list(
        Tag.objects.filter(
            kind=Tag.Kind.SERVICE, name__in=report.data.get("weakest_tags", [])[:3]
        ).values_list("pk", flat=True)
    )
    if tag_ids:
        params += "&tags=" + ",".join(map(str, tag_ids))
    return redirect(reverse("quiz:start") + params)
