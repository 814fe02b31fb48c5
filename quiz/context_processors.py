from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    # Not "site_name": Django's auth views put the request's host in that name.
    return {"brand": settings.SITE_NAME}


def time_zone(request: HttpRequest) -> dict[str, Any]:
    """The signed-in learner's time zone, which base.html renders every date and time in.

    Looked up only when a page is rendered, so JSON endpoints never read the user for it.
    """
    user = getattr(request, "user", None)
    return {"user_time_zone": user.time_zone if user is not None and user.is_authenticated else None}
