"""Checks rendered HTML with a real parser: no script element, no event handler, no script URL."""

from html.parser import HTMLParser

_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcdoc"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and self._is_own_script(attributes):
            pass
        elif tag in {"script", "iframe", "object", "embed"}:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in _URL_ATTRIBUTES and (value or "").strip().lower().startswith(
                ("javascript:", "data:text")
            ):
                self.problems.append(f"{tag}[{name}={value}]")

    handle_startendtag = handle_starttag

    def _is_own_script(self, attributes: dict) -> bool:
        # Scripts served by this site (admin's static files, its jsi18n view) and JSON data blocks
        # (never executed) are ours; anything else is not.
        src = attributes.get("src") or ""
        if src.startswith("/") and not src.startswith("//"):
            return True
        return attributes.get("type") == "application/json" and not attributes.get("src")

    def handle_data(self, data):
        self.text.append(data)


def unsafe_markup(html: str, *, allow: frozenset = frozenset()) -> list[str]:
    """Everything executable the HTML contains, other than our own static scripts and the tags in `allow`."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return [problem for problem in collector.problems if problem.strip("<>").split("[")[0] not in allow]


def visible_text(html: str) -> str:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return " ".join(collector.text)
