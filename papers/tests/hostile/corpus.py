"""The hostile feeds, and what ingesting each one must end in.

Every feed also carries good entries (GOOD_*): they must land with the right fields whatever the
rest of the document does. `expected` maps an entry's guid to the fields its Paper must have;
`forbidden` is text that no stored field may contain (file contents, expanded entities, script URLs).
A body may hold b"{LOOPBACK}", replaced by the loopback server's base URL when served.
"""

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

RSS_ATOM, ARXIV_RSS, ARXIV_API, HF_DAILY = "rss_atom", "arxiv_rss", "arxiv_api", "hf_daily"
OK, PARTIAL, ERROR = "ok", "partial", "error"
MB = 1024 * 1024
HUGE_BYTES = 50 * MB  # over the default 20 MB PAPERS_FETCH_MAX_BYTES

CONTENT_TYPES = {
    RSS_ATOM: "application/rss+xml; charset=utf-8",
    ARXIV_RSS: "application/rss+xml; charset=utf-8",
    ARXIV_API: "application/atom+xml; charset=utf-8",
    HF_DAILY: "application/json; charset=utf-8",
}
EXTENSIONS = {RSS_ATOM: "xml", ARXIV_RSS: "xml", ARXIV_API: "xml", HF_DAILY: "json"}


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    body: bytes
    what: str  # the attack, for docs/hostile-input.md
    status: str  # the Source's last_status afterwards
    expected: dict[str, dict]  # guid -> fields of the Paper that entry must become
    papers: int  # how many papers the feed leaves in the database
    error: str = ""  # text of Source.last_error ("" means no error may be recorded)
    counts: dict[str, int] = field(default_factory=dict)  # part of Source.last_counts
    forbidden: tuple[str, ...] = ()
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.name}.{EXTENSIONS[self.kind]}"


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- Good entries, one pair per format ------------------------------------------------------------

GOOD_RSS_ITEMS = b"""
<item><title>Rotary embeddings revisited</title>
<link>https://arxiv.org/abs/2611.01001v2</link>
<guid isPermaLink="false">oai:arXiv.org:2611.01001v2</guid>
<description>We revisit rotary position embeddings; x&lt;y holds in every case.</description>
<dc:creator>Ada Lovelace</dc:creator><category>cs.LG</category>
<pubDate>Mon, 02 Nov 2026 05:00:00 GMT</pubDate></item>
<item><title>Sparse attention at scale</title>
<link>https://blog.example.org/posts/sparse-attention</link>
<guid>https://blog.example.org/posts/sparse-attention</guid>
<description>&lt;p&gt;Attention that is &lt;b&gt;sparse&lt;/b&gt; &amp;amp; fast.&lt;/p&gt;</description>
<pubDate>Tue, 03 Nov 2026 08:30:00 GMT</pubDate></item>
"""
GOOD_GENERIC = {
    "oai:arXiv.org:2611.01001v2": {
        "arxiv_id": "2611.01001",
        "version": 2,
        "title": "Rotary embeddings revisited",
        "abstract": "We revisit rotary position embeddings; x<y holds in every case.",
        "authors": ["Ada Lovelace"],
        "categories": ["cs.LG"],
        "abs_url": "https://arxiv.org/abs/2611.01001",
        "pdf_url": "https://arxiv.org/pdf/2611.01001",
        "published_at": _when("2026-11-02T05:00:00"),
    },
    "https://blog.example.org/posts/sparse-attention": {
        "arxiv_id": None,
        "title": "Sparse attention at scale",
        "abstract": "Attention that is sparse & fast.",
        "abs_url": "https://blog.example.org/posts/sparse-attention",
        "pdf_url": "",
        "published_at": _when("2026-11-03T08:30:00"),
    },
}

GOOD_ATOM_ENTRIES = b"""
<entry><id>tag:blog.example.org,2026:quantized-adapters</id>
<title type="text">Quantized adapters</title>
<link rel="alternate" href="https://blog.example.org/quantized-adapters"/>
<summary type="html">&lt;p&gt;Adapters in &lt;i&gt;four&lt;/i&gt; bits.&lt;/p&gt;</summary>
<author><name>Grace Hopper</name></author><updated>2026-11-04T10:00:00Z</updated></entry>
<entry><id>https://arxiv.org/abs/2611.01002v1</id>
<title type="text">Speculative decoding, quickly</title>
<link rel="alternate" href="https://arxiv.org/abs/2611.01002v1"/>
<summary type="text">Draft models propose; the large model checks.</summary>
<author><name>Alan Turing</name></author><published>2026-11-05T12:00:00Z</published></entry>
"""
GOOD_ATOM = {
    "tag:blog.example.org,2026:quantized-adapters": {
        "arxiv_id": None,
        "title": "Quantized adapters",
        "abstract": "Adapters in four bits.",
        "authors": ["Grace Hopper"],
        "abs_url": "https://blog.example.org/quantized-adapters",
        "published_at": _when("2026-11-04T10:00:00"),
    },
    "https://arxiv.org/abs/2611.01002v1": {
        "arxiv_id": "2611.01002",
        "version": 1,
        "title": "Speculative decoding, quickly",
        "abstract": "Draft models propose; the large model checks.",
        "authors": ["Alan Turing"],
        "abs_url": "https://arxiv.org/abs/2611.01002",
        "published_at": _when("2026-11-05T12:00:00"),
    },
}

GOOD_LISTING_ITEMS = b"""
<item><title>Mixture of depths for speech</title><link>https://arxiv.org/abs/2611.02001</link>
<description>arXiv:2611.02001v1 Announce Type: new
Abstract: Tokens skip layers; speech models keep up.</description>
<guid isPermaLink="false">oai:arXiv.org:2611.02001v1</guid>
<category>eess.AS</category><category>cs.CL</category>
<pubDate>Mon, 02 Nov 2026 00:00:00 -0500</pubDate><arxiv:announce_type>new</arxiv:announce_type>
<dc:creator>Lin Wei, Sara Costa and Tom Berg</dc:creator></item>
<item><title>Retrieval heads, counted</title><link>https://arxiv.org/abs/2611.02002</link>
<description>arXiv:2611.02002v3 Announce Type: replace
Abstract: Few heads retrieve; we count them.</description>
<guid isPermaLink="false">oai:arXiv.org:2611.02002v3</guid><category>cs.CL</category>
<pubDate>Mon, 02 Nov 2026 00:00:00 -0500</pubDate><arxiv:announce_type>replace</arxiv:announce_type>
<dc:creator>Mia Roth</dc:creator></item>
"""
GOOD_LISTING = {
    "oai:arXiv.org:2611.02001v1": {
        "arxiv_id": "2611.02001",
        "version": 1,
        "title": "Mixture of depths for speech",
        "abstract": "Tokens skip layers; speech models keep up.",
        "authors": ["Lin Wei", "Sara Costa", "Tom Berg"],
        "categories": ["eess.AS", "cs.CL"],
        "primary_category": "eess.AS",
        "abs_url": "https://arxiv.org/abs/2611.02001",
        "published_at": _when("2026-11-02T05:00:00"),
    },
    "oai:arXiv.org:2611.02002v3": {
        "arxiv_id": "2611.02002",
        "version": 3,
        "title": "Retrieval heads, counted",
        "abstract": "Few heads retrieve; we count them.",
        "authors": ["Mia Roth"],
    },
}

GOOD_API_ENTRIES = b"""
<entry><id>http://arxiv.org/abs/2611.03001v2</id><published>2026-11-01T18:00:00Z</published>
<title>Long context
  without tears</title>
<summary>  We extend context
  to a million tokens.</summary>
<author><name>Nora Field</name></author><author><name>Ken Ito</name></author>
<arxiv:primary_category term="cs.LG"/><category term="cs.LG"/><category term="cs.AI"/></entry>
<entry><id>http://arxiv.org/abs/2611.03002v1</id><published>2026-11-01T19:00:00Z</published>
<title>Small models, big tables</title><summary>Tabular reasoning at 1B parameters.</summary>
<author><name>Ola Nord</name></author><arxiv:primary_category term="cs.CL"/><category term="cs.CL"/></entry>
"""
GOOD_API = {
    "http://arxiv.org/abs/2611.03001v2": {
        "arxiv_id": "2611.03001",
        "version": 2,
        "title": "Long context without tears",
        "abstract": "We extend context to a million tokens.",
        "authors": ["Nora Field", "Ken Ito"],
        "categories": ["cs.LG", "cs.AI"],
        "primary_category": "cs.LG",
        "published_at": _when("2026-11-01T18:00:00"),
    },
    "http://arxiv.org/abs/2611.03002v1": {
        "arxiv_id": "2611.03002",
        "title": "Small models, big tables",
        "authors": ["Ola Nord"],
    },
}

GOOD_HF_ITEMS = [
    {
        "paper": {
            "id": "2611.04001",
            "title": "Video world models",
            "summary": "Predicting the next second of video.",
            "authors": [{"name": "Ivy Chen"}, {"name": "Raj Patel"}],
            "upvotes": 42,
            "githubRepo": "https://github.com/example/video-world",
            "ai_summary": "A world model for video.",
            "publishedAt": "2026-11-03T09:00:00.000Z",
        },
        "numComments": 4,
    },
    {"paper": {"id": "2611.04002", "title": "Agents that ask", "upvotes": 7}, "numComments": 0},
]
GOOD_HF = {
    "2611.04001": {
        "arxiv_id": "2611.04001",
        "title": "Video world models",
        "abstract": "Predicting the next second of video.",
        "authors": ["Ivy Chen", "Raj Patel"],
        "hf_upvotes": 42,
        "hf_comments": 4,
        "code_url": "https://github.com/example/video-world",
        "hf_url": "https://huggingface.co/papers/2611.04001",
        "ai_summary": "A world model for video.",
        "published_at": _when("2026-11-03T09:00:00"),
    },
    "2611.04002": {"arxiv_id": "2611.04002", "title": "Agents that ask", "hf_upvotes": 7, "hf_comments": 0},
}


# --- Builders -------------------------------------------------------------------------------------


def rss(*items: bytes, declaration: bytes = b'<?xml version="1.0" encoding="utf-8"?>', doctype=b"") -> bytes:
    return (
        declaration
        + doctype
        + b'\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        + b'xmlns:arxiv="http://arxiv.org/schemas/atom"><channel><title>Hostile</title>'
        + b"<link>https://blog.example.org/</link><description>test</description>"
        + b"".join(items)
        + b"\n</channel></rss>\n"
    )


def atom(*entries: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:arxiv="http://arxiv.org/schemas/atom"><title>Hostile</title><id>urn:hostile</id>'
        b"<updated>2026-11-05T00:00:00Z</updated>" + b"".join(entries) + b"\n</feed>\n"
    )


def item(title: bytes, guid: bytes, *, link: bytes | None = None, extra: bytes = b"") -> bytes:
    link_element = b"" if link is None else b"<link>" + link + b"</link>"
    return (
        b"\n<item><title>"
        + title
        + b"</title>"
        + link_element
        + b"<guid>"
        + guid
        + b"</guid>"
        + extra
        + b"</item>"
    )


def hf(*items) -> bytes:
    return json.dumps([*items, *GOOD_HF_ITEMS], indent=1).encode()


def _lol_bomb() -> bytes:
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(b'<!ENTITY lol%d "%s">' % (level, b"".join([b"&lol%d;" % (level - 1)] * 10)))
    return b"<!DOCTYPE rss [" + b"".join(entities) + b"]>"


# --- The cases ------------------------------------------------------------------------------------

_SCRIPT_DESCRIPTION = (
    b'<description><![CDATA[<iframe src="javascript:alert(3)"></iframe>'
    b'<a href="javascript:alert(4)" onclick="alert(5)">Click</a> here '
    b'<img src=x onerror=alert(6)><object data="x.swf"></object><embed src="x.swf">'
    b"<svg onload=alert(7)></svg><style>body{}</style>and read.]]></description>"
)
_LONG_TITLE = ("Scaling laws " * 770)[:10_000].strip()


def _control_characters() -> bytes:
    return rss(
        item(b"Null &#0; in the title", b"ctrl-nul", link=b"https://blog.example.org/nul"),
        item(b"Lone surrogate &#xD800; here", b"ctrl-surrogate", link=b"https://blog.example.org/s"),
        item(
            b"Raw \x01 control \x1b characters",
            b"ctrl-raw\x02",
            link=b"https://blog.example.org/raw\x00",
            extra=b"<description>a&amp;#0;b &#x7;bell</description>",
        ),
        GOOD_RSS_ITEMS,
    )


CASES: list[Case] = [
    Case(
        name="malformed-xml",
        kind=RSS_ATOM,
        what="Mismatched and unclosed tags in the middle of an RSS feed",
        body=rss(
            GOOD_RSS_ITEMS,
            b"\n<item><title>Unclosed <b>bold</title><guid>malformed-1</guid><link>https://blog.example.org/m</link>"
            b"<description>No end tag</item>",
        ),
        status=PARTIAL,
        error="malformed feed",
        expected={**GOOD_GENERIC},
        papers=3,
        counts={"errors": 0},
    ),
    Case(
        name="truncated-xml",
        kind=RSS_ATOM,
        what="The document stops in the middle of an entry",
        body=rss(GOOD_RSS_ITEMS, item(b"Cut short", b"truncated-1", extra=b"<description>Half an abstr"))[
            :-30
        ],
        status=PARTIAL,
        error="truncated feed",
        expected={**GOOD_GENERIC},
        papers=2,
        counts={"fetched": 3, "new": 2, "errors": 1},
        forbidden=("Half an abstr",),
    ),
    Case(
        name="encoding-latin1-declared-utf8",
        kind=RSS_ATOM,
        what="Declared UTF-8, bytes are Latin-1",
        body=rss(item("Café au lait: naïve résumés".encode("latin-1"), b"enc-1"), GOOD_RSS_ITEMS),
        status=OK,
        expected={**GOOD_GENERIC, "enc-1": {"title": "Café au lait: naïve résumés"}},
        papers=3,
    ),
    Case(
        name="encoding-utf8-declared-latin1",
        kind=RSS_ATOM,
        what="Declared ISO-8859-1, bytes are UTF-8",
        body=rss(
            item("Café au lait: naïve résumés".encode(), b"enc-1"),
            GOOD_RSS_ITEMS,
            declaration=b'<?xml version="1.0" encoding="ISO-8859-1"?>',
        ),
        status=OK,
        expected={**GOOD_GENERIC, "enc-1": {"title": "Café au lait: naïve résumés"}},
        papers=3,
    ),
    Case(
        name="encoding-utf16-bom-declared-utf8",
        kind=RSS_ATOM,
        what="A UTF-16 byte order mark on a document declaring UTF-8",
        body=b"\xff\xfe"
        + rss(item("Ωmega ≠ ∞".encode(), b"enc-1"), GOOD_RSS_ITEMS).decode().encode("utf-16-le"),
        status=OK,
        expected={**GOOD_GENERIC, "enc-1": {"title": "Ωmega ≠ ∞"}},
        papers=3,
    ),
    Case(
        name="encoding-utf8-bom-declared-latin1",
        kind=RSS_ATOM,
        what="A UTF-8 byte order mark on a document declaring ISO-8859-1",
        body=b"\xef\xbb\xbf"
        + rss(
            item("Ωmega ≠ ∞".encode(), b"enc-1"),
            GOOD_RSS_ITEMS,
            declaration=b'<?xml version="1.0" encoding="ISO-8859-1"?>',
        ),
        status=OK,
        expected={**GOOD_GENERIC, "enc-1": {"title": "Ωmega ≠ ∞"}},
        papers=3,
    ),
    Case(
        name="encoding-mixed",
        kind=RSS_ATOM,
        what="UTF-8 and Latin-1 bytes in one document",
        body=rss(
            item("Café in UTF-8".encode(), b"enc-utf8"),
            item("Café in Latin-1".encode("latin-1"), b"enc-latin1"),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={**GOOD_GENERIC},
        papers=4,
    ),
    Case(
        name="billion-laughs",
        kind=RSS_ATOM,
        what="Nested entity definitions expanding to 10^9 'lol's",
        body=rss(GOOD_RSS_ITEMS, item(b"&lol9;", b"bomb-1"), doctype=_lol_bomb()),
        status=PARTIAL,
        error="amplification",
        expected={**GOOD_GENERIC},
        papers=3,
        forbidden=("lollollol",),
    ),
    Case(
        name="quadratic-blowup",
        kind=RSS_ATOM,
        what="One 20 kB entity referenced 10,000 times (200 MB expanded)",
        body=rss(
            GOOD_RSS_ITEMS,
            item(b"&a;" * 10_000, b"bomb-2"),
            doctype=b'<!DOCTYPE rss [<!ENTITY a "' + b"x" * 20_000 + b'">]>',
        ),
        status=PARTIAL,
        error="amplification",
        expected={**GOOD_GENERIC},
        papers=3,
        forbidden=("x" * 1000,),
    ),
    Case(
        name="xxe-file",
        kind=RSS_ATOM,
        what="An external entity naming file:///etc/passwd, used in a title and a description",
        body=rss(
            item(
                b"Users: &xxe; end",
                b"xxe-1",
                link=b"https://blog.example.org/xxe",
                extra=b"<description>&xxe;</description>",
            ),
            GOOD_RSS_ITEMS,
            doctype=b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        ),
        status=OK,
        expected={**GOOD_GENERIC, "xxe-1": {"title": "Users: end"}},
        papers=3,
        forbidden=("root:", "/bin/", "nologin"),
    ),
    Case(
        name="xxe-loopback",
        kind=RSS_ATOM,
        what="External general and parameter entities naming a loopback URL (request forgery)",
        body=rss(
            item(b"Fetched: &remote; end", b"xxe-2", link=b"https://blog.example.org/xxe"),
            GOOD_RSS_ITEMS,
            doctype=b'<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "{LOOPBACK}/xxe.dtd"> %dtd; '
            b'<!ENTITY remote SYSTEM "{LOOPBACK}/xxe-secret">]>',
        ),
        status=OK,
        expected={**GOOD_GENERIC, "xxe-2": {"title": "Fetched: end"}},
        papers=3,
        forbidden=("TOP-SECRET",),
    ),
    Case(
        name="script-in-rss-fields",
        kind=RSS_ATOM,
        what="script, iframe, object, embed, svg onload, img onerror and javascript: links in title, "
        "description and link of RSS items",
        body=rss(
            item(
                b"&lt;script&gt;alert(1)&lt;/script&gt;Escaped script title",
                b"xss-1",
                link=b"javascript:alert(2)",
                extra=_SCRIPT_DESCRIPTION,
            ),
            item(
                b"<![CDATA[<img src=x onerror=alert(8)> CDATA title]]>",
                b"xss-2",
                link=b" JaVaScRiPt:alert(9)",
            ),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={
            **GOOD_GENERIC,
            "xss-1": {
                "title": "<script>alert(1)</script>Escaped script title",
                "abstract": "Click here and read.",
                "abs_url": "",
            },
            "xss-2": {"title": "<img src=x onerror=alert(8)> CDATA title", "abs_url": ""},
        },
        papers=4,
        forbidden=("javascript:", "x.swf", "onload", "body{}"),
    ),
    Case(
        name="script-in-atom-fields",
        kind=RSS_ATOM,
        what="Atom text constructs of type html and xhtml carrying script and handlers; "
        "javascript:, vbscript: and data: link hrefs",
        body=atom(
            b"""
<entry><id>urn:xss:atom-1</id>
<title type="html">&lt;b onmouseover="alert(1)"&gt;Bold&lt;/b&gt;
&lt;script&gt;alert(2)&lt;/script&gt;move</title>
<link rel="alternate" href="javascript:alert(3)"/><link rel="enclosure" href="vbscript:msgbox(4)"/>
<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><script>alert(5)</script>
<p onclick="alert(6)">Inline
<a href="data:text/html,&lt;script&gt;alert(7)&lt;/script&gt;">data</a> link</p></div></summary>
<updated>2026-11-04T10:00:00Z</updated></entry>
<entry><id>urn:xss:atom-2</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
<iframe src="javascript:alert(8)"></iframe>Framed <em>title</em></div></title>
<link href="data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg=="/></entry>""",
            GOOD_ATOM_ENTRIES,
        ),
        status=OK,
        expected={
            **GOOD_ATOM,
            "urn:xss:atom-1": {"title": "Bold move", "abstract": "Inline data link", "abs_url": ""},
            "urn:xss:atom-2": {"title": "Framed title", "abs_url": ""},
        },
        papers=4,
        forbidden=("alert(", "javascript:", "vbscript:", "data:text"),
    ),
    Case(
        name="script-in-arxiv-listing",
        kind=ARXIV_RSS,
        what="An arXiv RSS listing whose title and abstract hold markup (arXiv text is plain: kept as text)",
        body=rss(
            b"""
<item><title>Jailbreaks &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;</title>
<link>https://arxiv.org/abs/2611.02003</link>
<description>arXiv:2611.02003v1 Announce Type: new
Abstract: Prompts like &lt;iframe src="javascript:alert(3)"&gt; and x&lt;y break filters.</description>
<guid isPermaLink="false">oai:arXiv.org:2611.02003v1</guid><category>cs.CR</category>
<dc:creator>Eve &lt;script&gt;alert(4)&lt;/script&gt;, Mallory</dc:creator></item>""",
            GOOD_LISTING_ITEMS,
        ),
        status=OK,
        expected={
            **GOOD_LISTING,
            "oai:arXiv.org:2611.02003v1": {
                "title": "Jailbreaks <script>alert(1)</script> & <img src=x onerror=alert(2)>",
                "abstract": 'Prompts like <iframe src="javascript:alert(3)"> and x<y break filters.',
                "authors": ["Eve <script>alert(4)</script>", "Mallory"],
            },
        },
        papers=3,
    ),
    Case(
        name="script-in-arxiv-api",
        kind=ARXIV_API,
        what="An arXiv API feed whose title and summary hold escaped markup",
        body=atom(
            b"""
<entry><id>http://arxiv.org/abs/2611.03003v1</id><published>2026-11-01T20:00:00Z</published>
<title>Adversarial &lt;svg onload=alert(1)&gt;
  suffixes</title>
<summary>We append &lt;script&gt;alert(2)&lt;/script&gt; to prompts.</summary>
<author><name>Trent</name></author><arxiv:primary_category term="cs.CR"/></entry>""",
            GOOD_API_ENTRIES,
        ),
        status=OK,
        expected={
            **GOOD_API,
            "http://arxiv.org/abs/2611.03003v1": {
                "title": "Adversarial <svg onload=alert(1)> suffixes",
                "abstract": "We append <script>alert(2)</script> to prompts.",
            },
        },
        papers=3,
    ),
    Case(
        name="latex-in-arxiv-api",
        kind=ARXIV_API,
        what="LaTeX in titles and summaries: \\href and \\url to javascript:, markup inside \\textit, "
        "unbalanced braces and math, and 10,000 nested groups",
        body=atom(
            b"""
<entry><id>http://arxiv.org/abs/2611.03011v1</id><published>2026-11-01T20:00:00Z</published>
<title>\\href{javascript:alert(1)}{Click me} and \\url{javascript:alert(2)}</title>
<summary>See \\href{javascript:alert(3)}{our code} at \\url{https://example.org/~ada/a_b}; we reach
  $O(n^2)$ in \\textit{&lt;script&gt;alert(4)&lt;/script&gt;} at 62.5\\% of $\\alpha$.</summary>
<author><name>Mallory</name></author><arxiv:primary_category term="cs.CR"/></entry>
<entry><id>http://arxiv.org/abs/2611.03012v1</id><published>2026-11-01T20:00:00Z</published>
<title>Unbalanced {braces} } and {{ open $x^{2$</title>
<summary>An \\emph{unclosed emphasis and \\textbf{bold</summary>
<author><name>Mallory</name></author><arxiv:primary_category term="cs.CR"/></entry>
<entry><id>http://arxiv.org/abs/2611.03013v1</id><published>2026-11-01T20:00:00Z</published>
<title>Nested groups</title>
<summary>"""
            + b"{" * 10_000
            + b"deep"
            + b"}" * 10_000
            + b"""</summary>
<author><name>Mallory</name></author><arxiv:primary_category term="cs.CR"/></entry>""",
            GOOD_API_ENTRIES,
        ),
        status=OK,
        expected={
            **GOOD_API,
            # The source is stored as written; readers see it converted, links as words only.
            "http://arxiv.org/abs/2611.03011v1": {
                "title": "\\href{javascript:alert(1)}{Click me} and \\url{javascript:alert(2)}",
                "display_title": "Click me and javascript:alert(2)",
                "display_abstract": "See our code at https://example.org/~ada/a_b; we reach O(n²) in "
                "\ue000<script>alert(4)</script>\ue001 at 62.5% of α.",
            },
            "http://arxiv.org/abs/2611.03012v1": {
                "display_title": "Unbalanced braces and open x²",
                "display_abstract": "An \ue000unclosed emphasis and bold\ue001",
            },
            # Too deep to parse: shown as the source wrote it (no display text of its own).
            "http://arxiv.org/abs/2611.03013v1": {"display_abstract": ""},
        },
        papers=5,
    ),
    Case(
        name="long-title",
        kind=RSS_ATOM,
        what="A 10,000-character title and a 50,000-character description",
        body=rss(
            item(
                _LONG_TITLE.encode(),
                b"long-1",
                link=b"https://blog.example.org/long",
                extra=b"<description>" + b"word " * 10_000 + b"</description>",
            ),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={**GOOD_GENERIC, "long-1": {"title": _LONG_TITLE}},
        papers=3,
    ),
    Case(
        name="long-guid",
        kind=RSS_ATOM,
        what="An entry id of 5,000 characters (longer than the stored guid column)",
        body=rss(
            item(
                b"Very long id",
                b"https://blog.example.org/" + b"a" * 5_000,
                link=b"https://blog.example.org/lid",
            ),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={**GOOD_GENERIC},
        papers=3,
    ),
    Case(
        name="missing-ids",
        kind=RSS_ATOM,
        what="Entries with neither guid nor link; two of them identical",
        body=rss(
            b"\n<item><title>No id at all</title><description>First.</description></item>",
            b"\n<item><title>No id either</title><description>Second.</description></item>",
            b"\n<item><title>No id either</title><description>Second, again.</description></item>",
            b"\n<item><description>No title and no id.</description></item>",
            GOOD_RSS_ITEMS,
        ),
        status=PARTIAL,
        error="no title",
        expected={**GOOD_GENERIC},
        papers=4,
        counts={"fetched": 6, "new": 4, "skipped": 1, "errors": 1},
    ),
    Case(
        name="duplicate-ids",
        kind=RSS_ATOM,
        what="Three entries sharing one guid; one arXiv paper listed as v1 and v3",
        body=rss(
            item(b"First of three", b"dup-1", link=b"https://blog.example.org/d1"),
            item(b"Second of three", b"dup-1", link=b"https://blog.example.org/d2"),
            item(b"Third of three", b"dup-1", link=b"https://blog.example.org/d3"),
            item(b"Old version", b"oai:arXiv.org:2611.05001v1", link=b"https://arxiv.org/abs/2611.05001v1"),
            item(b"New version", b"oai:arXiv.org:2611.05001v3", link=b"https://arxiv.org/abs/2611.05001v3"),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={
            **GOOD_GENERIC,
            "dup-1": {"title": "First of three"},
            "oai:arXiv.org:2611.05001v3": {"arxiv_id": "2611.05001", "version": 3, "title": "New version"},
        },
        papers=4,
        counts={"fetched": 7, "new": 4, "skipped": 3},
    ),
    Case(
        name="dates-out-of-range",
        kind=RSS_ATOM,
        what="Publication dates in the year 9999, 0001 and 1800, and ones no parser reads",
        body=rss(
            item(b"Far future", b"date-1", extra=b"<pubDate>Fri, 31 Dec 9999 23:59:59 +0000</pubDate>"),
            item(b"Far past", b"date-2", extra=b"<pubDate>Mon, 01 Jan 0001 00:00:00 +0100</pubDate>"),
            item(b"Before the web", b"date-3", extra=b"<pubDate>Wed, 01 Jan 1800 00:00:00 GMT</pubDate>"),
            item(b"Unreadable date", b"date-4", extra=b"<pubDate>the day after tomorrow</pubDate>"),
            item(b"Impossible date", b"date-5", extra=b"<pubDate>Mon, 31 Feb 2026 25:61:61 GMT</pubDate>"),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={
            **GOOD_GENERIC,
            **{f"date-{n}": {"published_at": None} for n in range(1, 6)},
        },
        papers=7,
    ),
    Case(
        name="non-arxiv-links",
        kind=RSS_ATOM,
        what="Plain web links, and data:, javascript:, vbscript:, file:, relative, protocol-relative and "
        "quote-breaking links",
        body=rss(
            item(b"Plain http post", b"link-1", link=b"http://blog.example.org/plain"),
            item(b"Data link", b"link-2", link=b"data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"),
            item(b"Script link", b"link-3", link=b"javascript:alert(document.cookie)"),
            item(b"VBScript link", b"link-4", link=b"vbscript:msgbox(1)"),
            item(b"File link", b"link-5", link=b"file:///etc/passwd"),
            item(b"Relative link", b"link-6", link=b"/posts/relative"),
            item(b"Protocol-relative link", b"link-7", link=b"//evil.example/x"),
            item(b"Tab in scheme", b"link-8", link=b"java&#x09;script:alert(1)"),
            item(b"Quote breaker", b"link-9", link=b'https://blog.example.org/q"onmouseover="alert(1)'),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={
            **GOOD_GENERIC,
            "link-1": {"abs_url": "http://blog.example.org/plain", "arxiv_id": None},
            **{f"link-{n}": {"abs_url": ""} for n in range(2, 9)},
            "link-9": {"abs_url": 'https://blog.example.org/q"onmouseover="alert(1)'},
        },
        papers=11,
        forbidden=("file:", "vbscript:", "javascript:", "data:text"),
    ),
    Case(
        name="html-where-text-is-expected",
        kind=RSS_ATOM,
        what="Tags, comments, CDATA, style blocks and (double-)escaped entities in titles and abstracts",
        body=rss(
            item(
                b"<![CDATA[Bold <b>claims</b> <!-- hidden note --> &amp; more]]>",
                b"html-1",
                link=b"https://blog.example.org/h1",
                extra=b"<description><![CDATA[<style>p{color:red}</style><p>Para <!-- c --> one.</p>"
                b"<p>&lt;script&gt;alert(1)&lt;/script&gt; as words</p>]]></description>",
            ),
            item(
                b"&amp;lt;b&amp;gt;double&amp;lt;/b&amp;gt; escaped &#60;3",
                b"html-2",
                link=b"https://blog.example.org/h2",
                extra=b"<description>&amp;amp;lt;script&amp;amp;gt; &#38;#60; &#x263A;</description>",
            ),
            GOOD_RSS_ITEMS,
        ),
        status=OK,
        expected={
            **GOOD_GENERIC,
            "html-1": {
                "title": "Bold claims & more",
                # Paragraphs lose the space between them when their tags go (cosmetic).
                "abstract": "Para one.<script>alert(1)</script> as words",
            },
            "html-2": {"title": "&lt;b&gt;double&lt;/b&gt; escaped <3", "abstract": "&lt;script&gt; < ☺"},
        },
        papers=4,
        forbidden=("color:red", "hidden note", "<!--", "<b>"),
    ),
    Case(
        name="control-characters",
        kind=RSS_ATOM,
        what="NUL and other control characters and a lone surrogate, as references and raw bytes, "
        "in titles, ids, links and descriptions",
        body=_control_characters(),
        status=PARTIAL,
        error="malformed feed",
        expected={
            **GOOD_GENERIC,
            "ctrl-nul": {"title": "Null \ufffd in the title"},
            "ctrl-surrogate": {"title": "Lone surrogate \ufffd here"},
        },
        papers=5,
        forbidden=("\x00", "\x01", "\x1b", "\x07"),
    ),
    # --- Hugging Face daily papers JSON ---
    Case(
        name="hf-wrong-types",
        kind=HF_DAILY,
        what="Ids as numbers, titles as lists, counts as strings and floats, authors as a string, list links",
        body=hf(
            {"paper": {"id": 2611.04101, "title": "Numeric id"}},
            {"paper": {"id": "2611.04102", "title": ["Title", "in", "a", "list"]}},
            {
                "paper": {
                    "id": "2611.04103",
                    "title": "Odd field types",
                    "upvotes": "12",
                    "authors": "Ann, Bob",
                    "githubRepo": ["https://github.com/x/y"],
                    "summary": {"text": "nested"},
                    "publishedAt": 1762160400,
                },
                "numComments": 3.5,
            },
            ["not", "an", "object"],
            None,
        ),
        status=PARTIAL,
        error="entry is not an object",
        expected={
            **GOOD_HF,
            "2611.04103": {
                "title": "Odd field types",
                "hf_upvotes": None,
                "hf_comments": None,
                "authors": [],
                "code_url": "",
                "abstract": "",
                "published_at": None,
            },
        },
        papers=3,
        counts={"fetched": 7, "new": 3, "errors": 4},
    ),
    Case(
        name="hf-missing-paper",
        kind=HF_DAILY,
        what="Entries without the inner `paper` object, or with `paper` as a string or null",
        body=hf(
            {"title": "Outer title only", "numComments": 2},
            {"paper": "2611.04104"},
            {"paper": None, "title": "Null paper"},
        ),
        status=PARTIAL,
        error="no arXiv id",
        expected={**GOOD_HF},
        papers=2,
        counts={"fetched": 5, "new": 2, "errors": 3},
    ),
    Case(
        name="hf-huge-numbers",
        kind=HF_DAILY,
        what="Upvotes of 10^30 and 2^63, comments of 1e400 (infinity) and NaN",
        body=hf(
            {"paper": {"id": "2611.04105", "title": "Huge upvotes", "upvotes": 10**30}, "numComments": 2**63},
            {
                "paper": {"id": "2611.04106", "title": "Just over a 32-bit int", "upvotes": 2**31},
                "numComments": 5,
            },
        )
        .replace(b'"numComments": 0', b'"numComments": 0, "x": 1e400')
        .replace(b'"upvotes": 7', b'"upvotes": 7, "y": NaN'),
        status=OK,
        expected={
            **GOOD_HF,
            "2611.04105": {"title": "Huge upvotes", "hf_upvotes": None, "hf_comments": None},
            "2611.04106": {"hf_upvotes": None, "hf_comments": 5},
        },
        papers=4,
    ),
    Case(
        name="hf-negative-counts",
        kind=HF_DAILY,
        what="Negative upvotes and comment counts, and booleans as counts",
        body=hf(
            {"paper": {"id": "2611.04107", "title": "Negative", "upvotes": -5}, "numComments": -1},
            {"paper": {"id": "2611.04108", "title": "Boolean", "upvotes": True}, "numComments": False},
        ),
        status=OK,
        expected={
            **GOOD_HF,
            "2611.04107": {"hf_upvotes": None, "hf_comments": None},
            "2611.04108": {"hf_upvotes": None, "hf_comments": None},
        },
        papers=4,
    ),
    Case(
        name="hf-nested-junk",
        kind=HF_DAILY,
        what="Deeply nested objects inside fields, and authors that are lists and objects of objects",
        body=hf(
            {
                "paper": {
                    "id": "2611.04109",
                    "title": "Nested junk",
                    "authors": [{"name": {"first": "A"}}, ["B"], {"name": "Real Name"}, 5],
                    "ai_summary": [[[[[[{"deep": [[[[1]]]]}]]]]]],
                    "projectPage": {"url": "https://example.org"},
                },
                "numComments": {"count": 1},
                "extra": json.loads("[" * 100 + "]" * 100),
            },
        ),
        status=OK,
        expected={
            **GOOD_HF,
            "2611.04109": {
                "authors": ["Real Name"],
                "ai_summary": "",
                "project_url": "",
                "hf_comments": None,
            },
        },
        papers=3,
    ),
    Case(
        name="hf-nesting-bomb",
        kind=HF_DAILY,
        what="A document nested 10,000 arrays deep (the JSON decoder recurses once per level)",
        body=b"[" * 10_000 + b"]" * 10_000,
        status=ERROR,
        error="not valid JSON",
        expected={},
        papers=0,
    ),
    Case(
        name="hf-script-and-links",
        kind=HF_DAILY,
        what="Markup in title, summary and ai_summary; javascript:, data:, vbscript: code and project links",
        body=hf(
            {
                "paper": {
                    "id": "2611.04110",
                    "title": "<script>alert(1)</script>Scripted <b>HF</b> title",
                    "summary": "<img src=x onerror=alert(2)>Summary <a href='javascript:alert(3)'>link</a>",
                    "ai_summary": "<iframe src=javascript:alert(4)></iframe>AI says hi",
                    "githubRepo": "javascript:alert(5)",
                    "projectPage": "data:text/html,<script>alert(6)</script>",
                    "authors": [{"name": "<svg onload=alert(7)>Eve"}],
                },
                "numComments": 1,
            },
            {
                "paper": {
                    "id": "2611.04111",
                    "title": "VBScript project",
                    "projectPage": "vbscript:msgbox(1)",
                    "githubRepo": " https://github.com/ok/repo",
                }
            },
        ),
        status=OK,
        expected={
            **GOOD_HF,
            "2611.04110": {
                "title": "Scripted HF title",
                "abstract": "Summary link",
                "ai_summary": "AI says hi",
                "code_url": "",
                "project_url": "",
                "authors": ["<svg onload=alert(7)>Eve"],  # a name is text: kept, and escaped when shown
            },
            "2611.04111": {"project_url": "", "code_url": "https://github.com/ok/repo"},
        },
        papers=4,
        forbidden=("alert(1)", "alert(2)", "alert(4)", "javascript:", "data:text", "vbscript:"),
    ),
    Case(
        name="hf-dates-out-of-range",
        kind=HF_DAILY,
        what="publishedAt in the years 0001 and 9999 with offsets, as a number, and unreadable",
        body=hf(
            {"paper": {"id": "2611.04112", "title": "Year one", "publishedAt": "0001-01-01T00:00:00+01:00"}},
            {"paper": {"id": "2611.04113", "title": "Year 9999", "publishedAt": "9999-12-31T23:59:59-01:00"}},
            {"paper": {"id": "2611.04114", "title": "Far future", "publishedAt": "9000-01-01T00:00:00Z"}},
            {"paper": {"id": "2611.04115", "title": "Unreadable", "publishedAt": "yesterday"}},
        ),
        status=OK,
        expected={
            **GOOD_HF,
            **{f"2611.0411{n}": {"published_at": None} for n in range(2, 6)},
        },
        papers=6,
    ),
]


# --- Bodies too big to commit, built when a test needs them ---------------------------------------


def huge_feed(size: int = HUGE_BYTES) -> bytes:
    """A well-formed RSS document of `size` bytes: the good entries, then filler items."""
    filler = item(b"Filler " + b"f" * 900, b"filler", link=b"https://blog.example.org/filler")
    head, tail = rss(GOOD_RSS_ITEMS).rsplit(b"</channel>", 1)
    count = (size - len(head) - len(tail)) // len(filler) + 1
    return head + filler * count + b"</channel>" + tail


def gzip_bomb(size: int = HUGE_BYTES) -> bytes:
    """A few tens of kilobytes that inflate to `size` bytes of feed."""
    return gzip.compress(huge_feed(size), compresslevel=9, mtime=0)
