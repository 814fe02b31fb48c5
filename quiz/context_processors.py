from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    # Not "site_name": Django's auth views put the request's host in that name.
    return {"brand": settings.SITE_NAME}
