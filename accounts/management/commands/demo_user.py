import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User

DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = "In development (DEBUG), create or refresh the demo account and print its login."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no demo account is created.")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(email=DEMO_EMAIL).first() or User(
            email=DEMO_EMAIL, display_name="Demo learner"
        )
        user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: {DEMO_EMAIL} / {password}  (http://127.0.0.1:8000/)")
        )
