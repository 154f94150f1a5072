"""The Paperboy admin site: its own header, and an index in the order curators work each day.

Installed through `config.apps.PaperboyAdminConfig` (`default_site`), so every app's
`admin.site.register(...)` lands here without knowing about it.
"""

from functools import partial

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.urls import NoReverseMatch, path, reverse
from django_otp import user_has_device
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from .admin_lists import TemplateFreeLists

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


def _otp_required(user) -> bool:
    """A second factor is asked of staff who set one up, and of everyone when ADMIN_REQUIRE_OTP is on."""
    return settings.ADMIN_REQUIRE_OTP or user_has_device(user)


class PaperboyLoginForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    """The password (counted by axes: AdminAuthenticationForm authenticates with the request), then
    the code of the account's TOTP device when it has one."""

    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)  # unused: see _chosen_device
    otp_token = forms.CharField(
        required=False, max_length=12, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)  # TOTP has no challenge

    def _chosen_device(self, user):
        """The account's authenticator: its first confirmed TOTP device (one per person is the rule)."""
        return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and _otp_required(user):
            self.clean_otp(user)
        return cleaned


class PaperboyAdminSite(admin.AdminSite):
    site_header = "Paperboy admin"
    site_title = "Paperboy admin"
    index_title = "Today's work"
    enable_nav_sidebar = False  # the sidebar takes 270 px of a 1280 px screen from every list
    login_form = PaperboyLoginForm
    login_template = "admin/paperboy_login.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin gets template-free change-list inputs (config.admin_lists)."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, TemplateFreeLists):
            admin_class = type(
                admin_class.__name__, (TemplateFreeLists, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        """Staff with a second factor (or everyone, when it is required) must have given its code."""
        if not super().has_permission(request):
            return False
        if _otp_required(request.user):
            return request.user.is_verified()
        return True

    def get_urls(self):
        from newsletter import today_admin  # the site is built while apps load; views need models

        own = [
            path(
                "today/", self.admin_view(partial(today_admin.today_view, site=self)), name="paperboy_today"
            ),
            path(
                "today/<int:paper_id>/<slug:action>/",
                self.admin_view(partial(today_admin.today_act_view, site=self)),
                name="paperboy_today_act",
            ),
        ]
        return own + super().get_urls()

    def login(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "otp_required": settings.ADMIN_REQUIRE_OTP}
        return super().login(request, extra_context)

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
        if not request.user.has_perm("papers.change_paper"):  # today_admin.PERMISSION
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
