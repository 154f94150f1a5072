"""The newsletter's own pages (digests on the web, archive, feeds, webhooks)."""

from django.urls import include, path, re_path

from . import feeds, views

app_name = "newsletter"

urlpatterns = [
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("digest/<str:token>/", views.digest_in_browser, name="digest"),
    path("archive/", views.archive_index, name="archive"),
    re_path(r"^archive/(?P<iso_date>[0-9]{4}-[0-9]{2}-[0-9]{2})/$", views.archive_day, name="archive_day"),
    path("topics/<slug:slug>/feed/", feeds.TopicFeed(), name="topic_feed"),
    path("topics/<slug:slug>/feed/atom/", feeds.TopicAtomFeed(), name="topic_feed_atom"),
    # Each ESP's tracking webhook at the URL anymail documents, e.g. /webhooks/anymail/postmark/tracking/
    path("webhooks/anymail/", include("newsletter.webhooks")),
]
