"""Topics in the admin with their followers: papers' TopicAdmin, plus what only subscriptions knows.

Papers never imports subscriptions, so its TopicAdmin cannot count who follows a topic; this
subclass adds the followers column and the followers box of the change page, and takes Topic's
registration over.
"""

from django.contrib import admin

from papers.admin import TopicAdmin
from papers.models import Topic

from .selectors import topic_follower_counts, topic_followers


class FollowedTopicAdmin(TopicAdmin):
    list_display = (*TopicAdmin.list_display, "follower_count")
    change_form_template = "admin/subscriptions/topic/change_form.html"

    def changelist_view(self, request, extra_context=None):
        # The cached counts (one pass over millions of follow rows is beat's job); every request sets
        # the same figures, so requests sharing this admin instance cannot disagree.
        self._followers = topic_followers()
        return super().changelist_view(request, extra_context)

    @admin.display(description="followers")
    def follower_count(self, topic: Topic) -> int:
        followers = getattr(self, "_followers", None) or topic_followers()
        return followers.get(topic.pk, {}).get("total", 0)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["topic_followers"] = topic_follower_counts(topic=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


admin.site.unregister(Topic)
admin.site.register(Topic, FollowedTopicAdmin)
