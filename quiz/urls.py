from django.contrib import admin
from django.urls import include, path

from quiz import views

quiz_patterns = [
    path("", views.home, name="home"),
    path("start/", views.start, name="start"),
    path("start/recommended/", views.start_recommended, name="start_recommended"),
    path("history/", views.history, name="history"),
    path("attempts/<int:attempt_id>/", views.attempt_resume, name="attempt"),
    path("attempts/<int:attempt_id>/q/<int:position>/", views.question, name="question"),
    path("attempts/<int:attempt_id>/q/<int:position>/answer", views.save_answer, name="save_answer"),
    path("attempts/<int:attempt_id>/q/<int:position>/flag", views.flag, name="flag"),
    path("attempts/<int:attempt_id>/q/<int:position>/check", views.check_answer, name="check_answer"),
    path("attempts/<int:attempt_id>/q/<int:position>/problem", views.report_problem, name="report_problem"),
    path("attempts/<int:attempt_id>/clock", views.clock, name="clock"),
    path("attempts/<int:attempt_id>/finish/", views.submit_review, name="submit_review"),
    path("attempts/<int:attempt_id>/submit", views.submit, name="submit"),
    path("attempts/<int:attempt_id>/abandon", views.abandon, name="abandon"),
    path("attempts/<int:attempt_id>/results/", views.results, name="results"),
    path("attempts/<int:attempt_id>/review/", views.review, name="review"),
]

urlpatterns = [
    path("", include((quiz_patterns, "quiz"))),
    path("accounts/", include("accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
