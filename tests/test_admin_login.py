"""The admin login, locked against guessing: axes per account and per address, an optional TOTP factor."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)


def _log_in(client, username, password, *, address="203.0.113.7", **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=address)


def _logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def _guess(client, username, times, *, address="203.0.113.7"):
    for n in range(times):
        _log_in(client, username, f"wrong-{n}", address=address)


def test_right_password_logs_in(client, boss):
    response = _log_in(client, "boss", PASSWORD)
    assert response.status_code == 302
    assert _logged_in(client)


def test_after_the_limit_of_wrong_passwords_the_right_one_is_refused_too(client, boss):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5  # the number docs/security.md and docs/operations.md give
    _guess(client, "boss", limit - 1)
    assert _log_in(client, "boss", "wrong-again").status_code == 429  # the limit-th guess locks
    response = _log_in(client, "boss", PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert not _logged_in(client)


def test_the_account_stays_locked_from_another_address(client, boss):
    _guess(client, "boss", settings.AXES_FAILURE_LIMIT, address="203.0.113.7")
    assert _log_in(client, "boss", PASSWORD, address="198.51.100.9").status_code == 429


def test_an_address_guessing_across_accounts_is_locked_out(client, boss, django_user_model):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, f"nobody-{n}", "guess", address="203.0.113.66")
    # Even the right password of a real account is refused from that address...
    assert _log_in(client, "boss", PASSWORD, address="203.0.113.66").status_code == 429
    # ...while the account itself is fine from elsewhere.
    assert _log_in(client, "boss", PASSWORD, address="198.51.100.9").status_code == 302


def test_an_operator_reset_lifts_the_lock_out(client, boss):
    _guess(client, "boss", settings.AXES_FAILURE_LIMIT)
    assert _log_in(client, "boss", PASSWORD).status_code == 429
    call_command("axes_reset_username", "boss")  # as docs/operations.md says
    call_command("axes_reset_ip", "203.0.113.7")
    assert _log_in(client, "boss", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_the_lock_out_clears_after_the_cool_off(client, boss):
    _guess(client, "boss", settings.AXES_FAILURE_LIMIT)
    assert _log_in(client, "boss", PASSWORD).status_code == 429
    cooloff = settings.AXES_COOLOFF_TIME
    assert cooloff == timedelta(minutes=30)
    AccessAttempt.objects.update(attempt_time=timezone.now() - cooloff - timedelta(seconds=1))
    assert _log_in(client, "boss", PASSWORD).status_code == 302


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_staff_with_an_authenticator_must_give_its_code(client, boss):
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    response = _log_in(client, "boss", PASSWORD)
    assert response.status_code == 200  # the form again, asking for the code
    assert not _logged_in(client)
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = _log_in(client, "boss", PASSWORD, otp_token=wrong)
    assert response.status_code == 200, response.context["form"].errors
    assert not _logged_in(client)
    # django-otp slows guessing of codes too: after a wrong one the device waits a second.
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttle_reset()
    assert _log_in(client, "boss", PASSWORD, otp_token=_code(device)).status_code == 302
    assert _logged_in(client)


def test_a_session_without_the_second_factor_is_not_let_in(client, boss):
    """A staff member who adds a device later must log in again with its code."""
    client.force_login(boss)
    assert _logged_in(client)
    TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    assert not _logged_in(client)


def test_the_code_can_be_required_of_every_staff_member(client, boss, settings):
    settings.ADMIN_REQUIRE_OTP = True
    assert _log_in(client, "boss", PASSWORD).status_code == 200
    assert not _logged_in(client)
