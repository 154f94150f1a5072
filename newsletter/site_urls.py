"""The newsletter's own pages (digests on the web, archive, feeds, webhooks)."""

urlpatterns: list = []
