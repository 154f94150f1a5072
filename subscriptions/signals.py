"""Signals other apps connect to so that a subscriber's personal data stays complete and erasable.

subscriptions never imports the apps that hold rows about a subscriber (deliveries, provider events);
those apps connect receivers here instead.

`personal_data_exporting(sender=Subscriber, subscriber=<Subscriber>)`
    Sent by `subscriber_export_data`. Each receiver returns a `(key, data)` pair: `key` is a short
    name ("deliveries") that becomes a top-level key of the export, `data` is anything JSON can
    encode (datetimes as ISO strings). Return None to add nothing. Two receivers using one key is
    a programming error (ImproperlyConfigured). Exceptions propagate: an export is never silently
    incomplete.

`personal_data_erasing(sender=Subscriber, subscriber=<Subscriber>)`
    Sent by `subscriber_erase` inside its transaction, before the subscriber row is deleted.
    Receivers scrub or delete their own rows that identify the subscriber (keep anonymous counts,
    e.g. a Delivery's status and date, but clear anything personal). An exception rolls the whole
    erasure back, so nothing is half-erased.

Example (newsletter/receivers.py, connected in its AppConfig.ready):

    @receiver(personal_data_exporting)
    def export_deliveries(sender, subscriber, **kwargs):
        rows = Delivery.objects.filter(subscriber=subscriber).values("edition_date", "status", ...)
        return "deliveries", [serialise(row) for row in rows]
"""

from django.dispatch import Signal

personal_data_exporting = Signal()
personal_data_erasing = Signal()
