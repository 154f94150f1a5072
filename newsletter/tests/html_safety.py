"""Checks rendered HTML with a real parser: no script element, no event handler, no script URL."""

from html.parser import HTMLParser

_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcdoc"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "iframe", "object", "embed"}:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in _URL_ATTRIBUTES and (value or "").strip().lower().startswith(
                ("javascript:", "data:text")
            ):
                self.problems.append(f"{tag}[{name}={value}]")

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def unsafe_markup(html: str, *, allow: frozenset = frozenset()) -> list[str]:
    """Everything executable the HTML contains (minus tags listed in `allow`, e.g. a sandboxed iframe)."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return [problem for problem in collector.problems if problem.strip("<>").split("[")[0] not in allow]


def visible_text(html: str) -> str:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return " ".join(collector.text)
