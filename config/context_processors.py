from django.conf import settings


def site(request) -> dict:
    """Site identity for every page template."""
    return {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL}
