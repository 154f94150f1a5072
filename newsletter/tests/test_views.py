"""The web pages of sent digests: view in browser, and the public archive."""

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter.archive import edition_dates
from newsletter.links import digest_token
from newsletter.models import Delivery
from newsletter.tests.digest_data import compose_deliveries
from newsletter.tests.html_safety import unsafe_markup, visible_text
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from subscriptions.services import subscriber_revoke_links
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import manage_url, parse_digest_token
from testsupport.processes import free_port

pytestmark = pytest.mark.django_db

HOSTILE_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)> Attention is all you need'


@pytest.fixture
def topic():
    return TopicFactory(slug="test-bits", name="Bits and Bytes")


def _sent(subscriber, papers, edition_date=date(2026, 4, 28), **fields):
    return Delivery.objects.create(
        subscriber=subscriber,
        edition_date=edition_date,
        status=fields.pop("status", Delivery.Status.SENT),
        paper_ids=[paper.pk for paper in papers],
        **fields,
    )


# --- View in browser ---------------------------------------------------------------------------


def test_view_in_browser_shows_the_sent_digest_in_its_order(client, topic):
    first, second = PaperFactory(title="Second by date"), PaperFactory(title="First in the digest")
    for paper in (first, second):
        PaperTopicFactory(paper=paper, topic=topic)
    subscriber = SubscriberFactory(topics=[topic])
    delivery = _sent(subscriber, [second, first])

    response = client.get(f"/digest/{digest_token(delivery.pk)}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("First in the digest") < html.index("Second by date")
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]
    csp = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert "script-src" not in csp  # falls back to default-src 'none': no script at all


def test_the_web_copy_is_the_email_without_its_view_in_browser_link(client, topic):
    """Same renderer, headline, topic chips, papers and order; only the page's link to itself goes."""
    other = TopicFactory(slug="test-agents", name="Agents", display_order=9)
    papers = [
        PaperFactory(title=r"Bits in $O(n^2)$", abstract=r"We study \textit{bits}."),
        PaperFactory(title="More bits"),
        PaperFactory(title="Agents with bits"),
    ]
    for paper in papers:
        PaperTopicFactory(paper=paper, topic=topic)
    PaperTopicFactory(paper=papers[2], topic=other)
    # The day's most upvoted paper, on a topic the reader does not follow: their Trending today strip.
    big = PaperFactory(title="The day's big paper", hf_upvotes=90)
    PaperTopicFactory(paper=big, topic=TopicFactory(slug="test-other", name="Other", display_order=11))
    reader = SubscriberFactory(topics=[topic, other], keywords="bits")
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())
    (email,) = compose_deliveries([Delivery.objects.select_related("subscriber").get(pk=delivery.pk)])
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT,
        paper_ids=email.paper_ids,
        trending_ids=email.trending_ids,
        liked_ids=email.liked_ids,
    )
    email_html = email.message.alternatives[0][0]
    view_url = email.message.body.split("View in browser: ")[1].split()[0]

    page = client.get(urlsplit(view_url).path).content.decode()

    link = re.search(r'<a href="[^"]*"[^>]*>View in browser</a>', email_html)
    assert link is not None and view_url in link.group(0)
    assert page == email_html.replace(link.group(0), "")  # byte for byte, but for the one link
    assert "View in browser" not in page
    assert "3 new papers on Bits and Bytes and Agents" in page
    assert page.count('class="chip"') == 4 and "<em>bits</em>" in page and "O(n²)" in page
    assert email.trending_ids[0] == big.pk and "big paper</a>" in page  # the strip too
    assert page.count('class="why"') == 3 and "Why: Bits and Bytes · mentions bits" in page


def test_view_in_browser_escapes_hostile_titles(client, topic):
    paper = PaperFactory(title=HOSTILE_TITLE, abstract="<iframe src=javascript:alert(2)></iframe> We find.")
    PaperTopicFactory(paper=paper, topic=topic)
    delivery = _sent(SubscriberFactory(topics=[topic]), [paper])

    html = client.get(f"/digest/{digest_token(delivery.pk)}/").content.decode()

    assert unsafe_markup(html) == []
    # Stored text is plain text: the markup in it reads as the characters it is.
    assert HOSTILE_TITLE in visible_text(html)
    assert "<iframe src=javascript:alert(2)></iframe> We find." in visible_text(html)


def test_hidden_papers_disappear_from_the_web_copy(client, topic):
    kept, hidden = PaperFactory(title="Kept paper"), PaperFactory(title="Hidden later", hidden=True)
    delivery = _sent(SubscriberFactory(topics=[topic]), [kept, hidden])
    html = client.get(f"/digest/{digest_token(delivery.pk)}/").content.decode()
    assert "Kept paper" in html
    assert "Hidden later" not in html


def test_forged_and_tampered_tokens_are_404(client, topic):
    delivery = _sent(SubscriberFactory(), [PaperFactory()])
    other = _sent(SubscriberFactory(), [PaperFactory()])
    genuine = digest_token(delivery.pk)
    signature = genuine.split(".", 1)[1]
    for token in (
        f"{other.pk}.{signature}",  # someone else's id with my signature
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        str(delivery.pk),
        "not-a-token",
        f"{delivery.pk}." + "A" * 200,
        "9" * 40 + "." + signature,
        f"{delivery.pk}.{genuine.split('.')[2]}",  # the signature alone, without the key's fingerprint
        f"{delivery.pk}.{digest_token(other.pk).split('.')[1]}.{genuine.split('.')[2]}",  # another key
    ):
        assert client.get(f"/digest/{token}/").status_code == 404, token


@pytest.mark.parametrize(
    "status", [Delivery.Status.PLANNED, Delivery.Status.UNKNOWN, Delivery.Status.SKIPPED]
)
def test_unsent_digests_have_no_web_copy(client, status):
    delivery = _sent(SubscriberFactory(), [PaperFactory()], status=status)
    assert client.get(f"/digest/{digest_token(delivery.pk)}/").status_code == 404


def test_erased_readers_digest_has_no_web_copy(client):
    delivery = _sent(SubscriberFactory(), [PaperFactory()])
    delivery.subscriber.delete()
    assert client.get(f"/digest/{digest_token(delivery.pk)}/").status_code == 404


def test_switching_off_old_links_kills_old_web_copies_and_new_links_work(client, topic):
    PaperTopicFactory(paper=PaperFactory(title="A paper on bits"), topic=topic)
    reader = SubscriberFactory(topics=[topic])
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())
    (item,) = compose_deliveries([Delivery.objects.select_related("subscriber").get(pk=delivery.pk)])
    old_view = item.message.body.split("View in browser: ")[1].split()[0]
    old_path = urlsplit(old_view).path
    old_manage = manage_url(reader)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT)
    page = client.get(old_path)
    assert page.status_code == 200 and old_manage in page.content.decode()

    subscriber_revoke_links(subscriber=reader)  # "Switch off old links" on the manage page

    assert client.get(old_path).status_code == 404
    fresh = f"/digest/{digest_token(delivery.pk, reader.token_key)}/"
    assert fresh != old_path
    page = client.get(fresh)
    assert page.status_code == 200
    assert manage_url(reader) in page.content.decode() and old_manage not in page.content.decode()
    # A token made without the key looks the reader's current one up: the same as the fresh link.
    assert f"/digest/{digest_token(delivery.pk)}/" == fresh


def test_forged_tokens_are_refused_before_any_query(django_assert_num_queries):
    delivery = _sent(SubscriberFactory(), [PaperFactory()])
    genuine = digest_token(delivery.pk)
    delivery_id, fingerprint, _signature = genuine.split(".")
    with django_assert_num_queries(0):
        assert parse_digest_token(genuine) == (delivery.pk, fingerprint)
        assert parse_digest_token(f"{delivery_id}.{'A' * 12}.{_signature}") is None  # another key
        assert parse_digest_token(f"{int(delivery_id) + 1}.{fingerprint}.{_signature}") is None


def test_view_in_browser_refuses_post(client):
    delivery = _sent(SubscriberFactory(), [PaperFactory()])
    assert client.post(f"/digest/{digest_token(delivery.pk)}/").status_code == 405


# --- Archive -----------------------------------------------------------------------------------


@pytest.fixture
def every_digest_public(settings):
    """Every sent date and paper is public (the threshold has tests of its own, below)."""
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 1


@pytest.mark.usefixtures("every_digest_public")
def test_archive_lists_each_editions_papers_most_sent_first_and_names_no_reader(client, topic):
    today = timezone.localdate()
    common, niche, hidden = (
        PaperFactory(title="Widely sent paper"),
        PaperFactory(title="Niche paper"),
        PaperFactory(title="Hidden paper", hidden=True),
    )
    PaperTopicFactory(paper=common, topic=topic)
    readers = [SubscriberFactory(email=f"private{n}@example.com") for n in range(4)]
    yesterday = today - timedelta(days=1)
    _sent(readers[0], [niche, common, hidden], yesterday)
    _sent(readers[1], [common], yesterday)
    _sent(readers[2], [common], yesterday)
    _sent(readers[0], [PaperFactory(title="Older paper")], today - timedelta(days=3))
    _sent(readers[3], [PaperFactory(title="Not sent yet")], yesterday, status=Delivery.Status.PLANNED)
    _sent(readers[2], [PaperFactory(title="From the future")], today + timedelta(days=2))

    response = client.get("/archive/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Widely sent paper") < html.index("Niche paper") < html.index("Older paper")
    assert "Bits and Bytes" in html  # topic chips
    for absent in (
        "Hidden paper",
        "Not sent yet",
        "From the future",
        "private0@",
        "private3@",
        "example.com",
    ):
        assert absent not in html
    assert unsafe_markup(html) == []


@pytest.mark.usefixtures("every_digest_public")
def test_archive_escapes_hostile_feed_text_and_drops_script_links(client):
    paper = PaperFactory(
        title=HOSTILE_TITLE, abs_url="javascript:alert(1)", pdf_url="https://arxiv.org/pdf/1"
    )
    paper.authors = ["<b onmouseover=alert(3)>Eve</b>", 42, None]
    paper.save()
    _sent(SubscriberFactory(), [paper], timezone.localdate())

    html = client.get("/archive/").content.decode()

    assert unsafe_markup(html) == []
    assert "javascript:" not in html
    assert HOSTILE_TITLE in visible_text(html)
    assert 'href="https://arxiv.org/pdf/1"' in html


def test_archive_is_paginated_by_edition_date_in_constant_queries(
    client, settings, django_assert_max_num_queries
):
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 4
    today = timezone.localdate()
    readers = [SubscriberFactory() for _ in range(4)]
    paper = PaperFactory()  # in every digest, so every public date has a paper to show
    for days_ago in range(12):
        few = days_ago in (3, 6, 9)  # three digests: below the threshold, not an edition
        for reader in readers[: 3 if few else 4]:
            _sent(reader, [paper, PaperFactory()], today - timedelta(days=days_ago))

    with django_assert_max_num_queries(5):  # count, dates, paper lists, papers, their topics
        first = client.get("/archive/")
    second = client.get("/archive/?page=2")

    assert first.content.decode().count('class="edition"') == 7
    assert second.content.decode().count('class="edition"') == 2
    assert f"{(today - timedelta(days=11)).isoformat()}" in second.content.decode()
    assert "Page 2 of 2" in second.content.decode()
    pages = first.content.decode() + second.content.decode()
    assert all(f"{(today - timedelta(days=n)).isoformat()}" not in pages for n in (3, 6, 9))
    assert client.get("/archive/?page=banana").status_code == 200
    assert client.get("/archive/?page=99999999999999999999").status_code == 200


@pytest.mark.usefixtures("every_digest_public")
def test_archive_day_page(client):
    day = timezone.localdate() - timedelta(days=1)
    papers = [PaperFactory(title=f"Day paper {n}") for n in range(12)]
    _sent(SubscriberFactory(), papers, day)

    response = client.get(f"/archive/{day.isoformat()}/")

    assert response.status_code == 200
    assert all(f"Day paper {n}" in response.content.decode() for n in range(12))
    index = client.get("/archive/").content.decode()
    assert "All 12 papers" in index  # the index shows the first ten and links to the rest


@pytest.mark.parametrize("path", ["2026-02-31", "1999-01-01", "9999-12-31", "0000-01-01"])
def test_archive_day_without_an_edition_is_404(client, path):
    assert client.get(f"/archive/{path}/").status_code == 404


@pytest.mark.usefixtures("every_digest_public")
def test_archive_shows_plain_text_that_looks_like_markup_as_written(client):
    """Stored paper text is plain text: "x<y" is maths, not a tag to strip."""
    paper = PaperFactory(title="Bounds when x<y and z>w hold", abstract="The &lt;b&gt; tag")
    _sent(SubscriberFactory(), [paper], timezone.localdate())

    html = client.get("/archive/").content.decode()

    assert "Bounds when x<y and z>w hold" in visible_text(html)
    assert unsafe_markup(html) == []


# --- Archive: small numbers stay out ------------------------------------------------------------


def test_a_date_with_fewer_sent_digests_than_the_threshold_is_no_edition(client, settings):
    """On a day few digests went out, the edition would be those readers' own selections."""
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 3
    today = timezone.localdate()
    quiet, busy = today - timedelta(days=2), today - timedelta(days=1)
    readers = [SubscriberFactory() for _ in range(3)]
    shared = PaperFactory(title="Paper of the busy day")
    for reader in readers:
        _sent(reader, [shared], busy)
    personal = PaperFactory(title="One reader's own pick")
    _sent(readers[0], [personal], quiet)
    _sent(readers[1], [personal], quiet)
    _sent(readers[2], [personal], quiet, status=Delivery.Status.FAILED)  # not sent: not counted

    index = client.get("/archive/")

    html = index.content.decode()
    assert index.status_code == 200
    assert f"/archive/{busy.isoformat()}/" in html and "Paper of the busy day" in html
    assert f"/archive/{quiet.isoformat()}/" not in html
    assert "One reader&#x27;s own pick" not in html and "own pick" not in html
    assert client.get(f"/archive/{quiet.isoformat()}/").status_code == 404
    assert client.get(f"/archive/{busy.isoformat()}/").status_code == 200


def test_a_paper_fewer_digests_carried_than_the_threshold_is_not_shown(client, settings):
    """A paper one reader got tells that reader's niche interest: neither archive page shows it."""
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 3
    day = timezone.localdate() - timedelta(days=1)
    everyone = PaperFactory(title="Sent to everyone")
    widely = PaperFactory(title="Sent to three readers")
    niche = PaperFactory(title="Homomorphic knitting for left-handed otters")
    pair = PaperFactory(title="Sent to two readers only")
    readers = [SubscriberFactory() for _ in range(4)]
    _sent(readers[0], [niche, niche, niche, everyone, widely, pair], day)  # a repeat is still one digest
    _sent(readers[1], [everyone, widely, pair], day)
    _sent(readers[2], [everyone, widely], day)
    _sent(readers[3], [everyone], day)
    for reader in readers[1:3]:  # the niche paper in digests that were never sent
        _sent(reader, [niche], day - timedelta(days=1), status=Delivery.Status.FAILED)

    index = client.get("/archive/").content.decode()
    day_page = client.get(f"/archive/{day.isoformat()}/")

    assert day_page.status_code == 200
    for html in (index, day_page.content.decode()):
        assert html.index("Sent to everyone") < html.index("Sent to three readers")
        for hidden in ("Homomorphic knitting", "left-handed otters", "Sent to two readers only"):
            assert hidden not in html
    assert "2 papers went out" in day_page.content.decode()  # the count leaves them out too


def test_a_public_date_without_a_widely_sent_paper_has_no_day_page(client, settings):
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 2
    day = timezone.localdate() - timedelta(days=1)
    _sent(SubscriberFactory(), [PaperFactory(title="First reader's pick")], day)
    _sent(SubscriberFactory(), [PaperFactory(title="Second reader's pick")], day)

    assert client.get(f"/archive/{day.isoformat()}/").status_code == 404
    index = client.get("/archive/")
    assert "reader&#x27;s pick" not in index.content.decode()
    assert index.context["editions"] == []  # no empty heading for that date either


# --- The archive at scale ------------------------------------------------------------------------


def _rows_read(plan_node: dict, table: str) -> int:
    own = plan_node.get("Actual Rows", 0) * plan_node.get("Actual Loops", 1)
    own = own if plan_node.get("Relation Name") == table else 0
    return own + sum(_rows_read(child, table) for child in plan_node.get("Plans", ()))


def _a_dozen_dates_of_digests(settings):
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 5
    today = timezone.localdate()
    rows = []
    for back in range(1, 13):
        day = today - timedelta(days=back)
        sent = 3 if back % 4 == 0 else 40  # every fourth date has too few digests to be an edition
        rows += [Delivery(edition_date=day, status=Delivery.Status.SENT, paper_ids=[]) for _ in range(sent)]
        rows += [Delivery(edition_date=day, status=Delivery.Status.SKIPPED, paper_ids=[]) for _ in range(9)]
    rows += [Delivery(edition_date=today + timedelta(days=1), status=Delivery.Status.SENT) for _ in range(9)]
    Delivery.objects.bulk_create(rows)
    return today


def test_edition_dates_give_the_answer_of_the_plain_group_by(settings):
    today = _a_dozen_dates_of_digests(settings)
    dates = edition_dates(until=today)
    expected = list(
        Delivery.objects.filter(status=Delivery.Status.SENT, edition_date__lte=today)
        .values("edition_date")
        .annotate(n=Count("id"))
        .filter(n__gte=5)
        .order_by("-edition_date")
        .values_list("edition_date", flat=True)
    )
    assert dates == expected and len(dates) == 9


@pytest.mark.postgres  # a Postgres query plan
def test_edition_dates_step_through_the_dates_instead_of_reading_every_digest(settings):
    """A year of digests for 100k readers is 36M rows: the archive's list of dates read them all
    on every page (1.5-2.7 s at 7.3M rows); stepping through the dates reads a few rows a date."""
    today = _a_dozen_dates_of_digests(settings)
    with CaptureQueriesContext(connection) as queries:
        assert len(edition_dates(until=today)) == 9
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
        (plan,) = cursor.fetchone()
    assert _rows_read(plan[0]["Plan"], Delivery._meta.db_table) < 150  # of 597 rows


def test_a_dates_reach_is_counted_once_and_papers_are_read_fresh(client, settings):
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 2
    day = timezone.localdate() - timedelta(days=3)
    kept, hidden = PaperFactory(title="Widely read kernels"), PaperFactory(title="Widely read but hidden")
    for _ in range(3):
        _sent(SubscriberFactory(), [kept, hidden], day)
    assert "Widely read but hidden" in client.get("/archive/").content.decode()

    hidden.hidden = True
    hidden.save()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(f"/archive/{day.isoformat()}/").content.decode()
    assert "Widely read kernels" in again and "Widely read but hidden" not in again
    assert not [q for q in queries.captured_queries if "paper_ids" in q["sql"] and "GROUP BY" in q["sql"]]


def test_the_archive_answers_from_the_database_while_the_cache_is_down(client, settings, caplog):
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 2
    day = timezone.localdate() - timedelta(days=3)
    paper = PaperFactory(title="Read while Redis is away")
    for _ in range(2):
        _sent(SubscriberFactory(), [paper], day)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }
    for path in ("/archive/", f"/archive/{day.isoformat()}/"):
        response = client.get(path)
        assert response.status_code == 200 and "Read while Redis is away" in response.content.decode()
    assert "cache unavailable" in caplog.text
