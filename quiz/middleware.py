"""Client address behind trusted reverse proxies."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def client_address(request: HttpRequest, proxies: int) -> str:
    """The address that connected to the outermost trusted proxy.

    Each proxy appends the address it saw to X-Forwarded-For, so with ``proxies``
    trusted hops the client is the ``proxies``-th entry from the right. Anything
    further left was written by the client and cannot be trusted.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return hops[0] if hops else remote
    return hops[-proxies]


class TrustedProxyMiddleware:
    """Rewrites REMOTE_ADDR to the real client when TRUSTED_PROXY_COUNT > 0."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META["REMOTE_ADDR"] = client_address(request, settings.TRUSTED_PROXY_COUNT)
        return self.get_response(request)
