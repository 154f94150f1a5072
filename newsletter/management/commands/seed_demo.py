"""Load the demo: an admin login, then each app's demo data. Safe to run again: nothing is duplicated."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse

import newsletter.demo
import papers.demo
import subscriptions.demo
from mailing.outbox import outbox_dir

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Create the demo admin login and load demo papers, topics and subscribers (idempotent)."

    def handle(self, *args, **options):
        password = self._admin_password()
        User = get_user_model()
        user, _created = User.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@paperboy.localhost"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

        # Dependencies point one way: papers, then subscribers, then what the newsletter needs.
        for module in (papers.demo, subscriptions.demo, newsletter.demo):
            module.seed(stdout=self.stdout)

        self.stdout.write(
            self.style.SUCCESS(
                f"Admin login: {settings.SITE_URL}/admin/  user: {ADMIN_USERNAME}  password: {password}"
            )
        )
        self._print_what_to_open()

    def _print_what_to_open(self) -> None:
        site = settings.SITE_URL
        lines = [("Sign up", f"{site}{reverse('subscriptions:home')}")]
        if (reader := subscriptions.demo.reader_manage_link()) is not None:
            email, link = reader
            lines.append(("Manage page", f"{link}  (demo reader {email})"))
        lines.append(("Archive", f"{site}{reverse('newsletter:archive')}"))
        if (folder := outbox_dir()) is not None:
            lines.append(("Outbox", f"{folder}/  (every email as an .eml file)"))
        width = max(len(label) for label, _ in lines) + 2
        for label, value in lines:
            self.stdout.write(f"{label + ':':<{width}}{value}")

    @staticmethod
    def _admin_password() -> str:
        """A random password made once per checkout and kept under var/, so every run prints the same one."""
        path = settings.VAR_DIR / "demo-admin-password.txt"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password
