"""The Paperboy admin site: its own header, and an index in the order curators work each day.

Installed through `config.apps.PaperboyAdminConfig` (`default_site`), so every app's
`admin.site.register(...)` lands here without knowing about it.
"""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse

# What a curator opens each morning, then what an operator checks: (app label, model name) in order.
# Models not named here follow, in Django's alphabetical order.
INDEX_ORDER = (
    ("papers", "paper"),
    ("papers", "topic"),
    ("papers", "source"),
    ("subscriptions", "subscriber"),
    ("newsletter", "delivery"),
    ("newsletter", "dashboard"),
)
APP_ORDER = ("papers", "subscriptions", "newsletter")


class PaperboyAdminSite(admin.AdminSite):
    site_header = "Paperboy admin"
    site_title = "Paperboy admin"
    index_title = "Today's work"
    enable_nav_sidebar = False  # the sidebar takes 270 px of a 1280 px screen from every list

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {key: n for n, key in enumerate(INDEX_ORDER)}
        for app in apps:
            label = app["app_label"]
            app["models"].sort(
                key=lambda m: (rank.get((label, m["object_name"].lower()), len(rank)), m["name"])
            )
        apps.sort(
            key=lambda a: (APP_ORDER.index(a["app_label"]) if a["app_label"] in APP_ORDER else 99, a["name"])
        )
        today = self._today_entry(request)
        if today and (app_label in (None, "papers")):
            for app in apps:
                if app["app_label"] == "papers":
                    app["models"].insert(0, today)
                    break
        return apps

    def _today_entry(self, request) -> dict | None:
        """The Today page (newsletter.today_admin) as the first row of the index."""
        if not request.user.has_perm("papers.change_paper"):
            return None
        try:
            url = reverse(f"{self.name}:paperboy_today")
        except NoReverseMatch:
            return None
        return {
            "name": "Today's papers",
            "object_name": "Today",
            "perms": {"view": True, "change": False, "add": False, "delete": False},
            "admin_url": url,
            "add_url": None,
            "view_only": True,
        }
