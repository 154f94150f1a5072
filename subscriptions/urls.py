from django.urls import path

from . import feedback_views, views

app_name = "subscriptions"

urlpatterns = [
    path("", views.signup, name="home"),
    path("check-your-inbox/", views.check_inbox, name="check_inbox"),
    path("my-links/", views.request_links, name="request_links"),
    path("my-links/sent/", views.links_sent, name="links_sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/export/", views.export_data, name="export"),
    path("manage/<str:token>/delete/", views.delete_data, name="delete"),
    path("manage/<str:token>/new-link/", views.revoke_links, name="revoke_links"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/resubscribe/", views.resubscribe, name="resubscribe"),
    # Readers' "more / less like this" (subscriptions/feedback.py; its tokens, subscriptions/tokens.py).
    path("feedback/<str:token>/", feedback_views.paper_feedback, name="feedback"),
    path("manage/<str:token>/feedback/clear/", feedback_views.paper_feedback_clear, name="feedback_clear"),
]
