from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.http import require_http_methods

from accounts import throttle
from accounts.export import user_data
from accounts.forms import DeleteAccountForm, ProfileForm, SignupForm, ThrottledLoginForm
from accounts.models import User
from accounts.signup import signup_request


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("quiz:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signup_request(
            request=request,
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            time_zone=form.cleaned_data["time_zone"],
        )
        return render(request, "accounts/check_inbox.html", {"email": form.cleaned_data["email"]})
    return render(request, "accounts/signup.html", {"form": form}, status=422 if form.errors else 200)


def activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or user.is_active or not default_token_generator.check_token(user, token):
        return render(request, "accounts/activation_invalid.html", status=400)
    user.is_active = True
    user.save(update_fields=["is_active"])
    login(request, user, backend="accounts.backends.EmailBackend")
    messages.success(request, "Your account is ready. Set your target exam below.")
    return redirect("accounts:profile")


class LoginView(auth_views.LoginView):
    form_class = ThrottledLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        throttle.clear_failures(email=form.user.email)
        return super().form_valid(form)


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form}, status=422 if form.errors else 200)


@login_required
def download_data(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    response = HttpResponse(
        json.dumps(user_data(request.user), indent=2, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user.delete()
        messages.info(request, "Your account and all its data are deleted.")
        return redirect("accounts:login")
    return render(request, "accounts/delete.html", {"form": form}, status=422 if form.errors else 200)
