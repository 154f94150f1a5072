"""When the cached page shells (subscriptions.shells) go stale: topics saved or deleted, settings changed."""

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from papers.models import Topic

from . import shells


@receiver(post_save, sender=Topic, dispatch_uid="subscriptions.shells.topic_saved")
@receiver(post_delete, sender=Topic, dispatch_uid="subscriptions.shells.topic_deleted")
def topics_changed(**kwargs) -> None:
    shells.invalidate()


@receiver(setting_changed, dispatch_uid="subscriptions.shells.setting_changed")
def settings_changed(**kwargs) -> None:
    shells.clear_local()  # tests' override_settings: a default time zone or hour is in the shells
