"""`{% reader_feedback subscriber as feedback %}`: what a reader told us, for the manage page."""

from django import template

from subscriptions.feedback import feedback_of_subscriber

register = template.Library()


@register.simple_tag
def reader_feedback(subscriber):
    return feedback_of_subscriber(subscriber=subscriber)
