from email import message_from_bytes

from django.core.mail import EmailMultiAlternatives, get_connection

from mailing.outbox import outbox_dir


def test_outbox_writes_one_openable_eml_file_per_message(tmp_path):
    connection = get_connection("mailing.outbox.OutboxEmailBackend", outbox_dir=tmp_path)
    messages = []
    for n in range(3):
        msg = EmailMultiAlternatives(f"Digest {n}", f"text {n}", "from@example.com", [f"r{n}@example.com"])
        msg.attach_alternative(f"<p>html {n}</p>", "text/html")
        messages.append(msg)
    assert connection.send_messages(messages) == 3

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 3
    parsed = [message_from_bytes(f.read_bytes()) for f in files]
    assert sorted(p["To"] for p in parsed) == ["r0@example.com", "r1@example.com", "r2@example.com"]
    assert all(p.is_multipart() for p in parsed)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_outbox_dir_is_where_mail_goes_only_with_the_outbox_backend(settings, tmp_path):
    settings.EMAIL_BACKEND = "mailing.outbox.OutboxEmailBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    assert outbox_dir() == tmp_path / "outbox"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert outbox_dir() is None
