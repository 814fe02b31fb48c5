"""Admin for accounts: Django's UserAdmin adapted to email logins, and the login-failure log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from accounts.models import LoginFailure, User


class EmailUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


@admin.register(User)
class EmailUserAdmin(UserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    list_display = ("email", "display_name", "target_exam", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "target_exam")
    search_fields = ("email", "display_name", "first_name", "last_name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Profile",
            {
                "fields": (
                    "display_name",
                    "first_name",
                    "last_name",
                    "time_zone",
                    "target_exam",
                    "exam_date",
                    "extra_time_minutes",
                    "keyboard_shortcuts",
                )
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")},
        ),
    )


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Read-only. Deleting rows (with the delete permission) lifts a lockout early."""

    list_display = ("email", "address", "created_at")
    search_fields = ("email", "address")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
