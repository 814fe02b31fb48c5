from django.contrib import admin
from django.urls import include, path

from quiz import views

quiz_patterns = [
    path("", views.home, name="home"),
    path("start/", views.start, name="start"),
    path("history/", views.history, name="history"),
]

urlpatterns = [
    path("", include((quiz_patterns, "quiz"))),
    path("accounts/", include("accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
