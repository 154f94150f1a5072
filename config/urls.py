"""Root URLconf: the admin, the health check, and each app's pages."""

from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    # Answered by health.HealthzMiddleware before routing; named here for reverse().
    path("healthz", healthz, name="healthz"),
    path("", include("newsletter.urls")),
    path("", include("subscriptions.urls")),
]

handler400 = "newsletter.views.bad_request"
