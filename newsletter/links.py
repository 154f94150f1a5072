"""Where a sent digest's web copy ("view in browser") lives: newsletter's page around the token
subscriptions.tokens signs (`digest_token`) and checks (`parse_digest_token`, `token_key_matches`)."""

from subscriptions.models import Subscriber
from subscriptions.tokens import digest_token, token_url, url_around

DIGEST_PAGE = "newsletter:digest"


def delivery_digest_token(delivery_id: int) -> str:
    """The token of a delivery's web copy under its reader's current token_key (one query; an erased
    reader's delivery gets a token no page opens)."""
    key = Subscriber.objects.filter(deliveries__pk=delivery_id).values_list("token_key", flat=True).first()
    return digest_token(delivery_id, key or "")


def digest_view_url(delivery_id: int, token_key: str | None = None) -> str:
    """The web copy's URL. Without `token_key`, the reader's current one is looked up (one query)."""
    token = delivery_digest_token(delivery_id) if token_key is None else digest_token(delivery_id, token_key)
    return token_url(DIGEST_PAGE, token)


def digest_view_url_around() -> tuple[str, str]:
    """digest_view_url's URL split where the token goes, for making many (see url_around)."""
    return url_around(DIGEST_PAGE)
