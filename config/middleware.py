"""Security headers Django 5.2 does not send by itself.

The Content-Security-Policy allows no inline script anywhere: every script is a static file. Site pages
allow no inline style either (every style is in a static stylesheet); the admin keeps inline styles,
because Django admin uses style attributes and the digest preview (mail-client HTML in a srcdoc frame,
which inherits the admin page's policy) is all inline styles. The view-in-browser page sets its own.
"""

from django.conf import settings

_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(_DIRECTIVES)
ADMIN_CONTENT_SECURITY_POLICY = "; ".join(
    "style-src 'self' 'unsafe-inline'" if d.startswith("style-src") else d for d in _DIRECTIVES
)
ADMIN_PATH_PREFIX = "/admin/"  # config/urls.py
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY)
        self.admin_policy = getattr(settings, "CONTENT_SECURITY_POLICY", ADMIN_CONTENT_SECURITY_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        admin = request.path_info.startswith(ADMIN_PATH_PREFIX)
        # A view may set a stricter policy of its own (e.g. the view-in-browser page).
        response.headers.setdefault("Content-Security-Policy", self.admin_policy if admin else self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
