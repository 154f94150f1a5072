"""Where a sent digest's web copy ("view in browser") lives: newsletter's page around the token
subscriptions.tokens signs (`digest_token`) and checks (`parse_digest_token`, `token_key_matches`)."""

from subscriptions import tokens
from subscriptions.models import Subscriber

DIGEST_PAGE = "newsletter:digest"


def digest_token(delivery_id: int, token_key: str | None = None) -> str:
    """The token of a delivery's web copy (subscriptions.tokens.digest_token). Without `token_key`,
    under its reader's current one (one query; an erased reader's delivery gets one no page opens)."""
    if token_key is None:
        readers = Subscriber.objects.filter(deliveries__pk=delivery_id)
        token_key = readers.values_list("token_key", flat=True).first() or ""
    return tokens.digest_token(delivery_id, token_key)


def digest_view_url(delivery_id: int, token_key: str | None = None) -> str:
    """The web copy's URL. Without `token_key`, the reader's current one is looked up (one query)."""
    return tokens.token_url(DIGEST_PAGE, digest_token(delivery_id, token_key))


def digest_view_url_around() -> tuple[str, str]:
    """digest_view_url's URL split where the token goes, for making many (see url_around)."""
    return tokens.url_around(DIGEST_PAGE)
