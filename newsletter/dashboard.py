"""The admin dashboard: daily roll-ups, drawn as inline SVG on our own server.

No JavaScript and no CDN: each chart is geometry computed here and written out by the template as
<svg> elements, with the same numbers in a table for screen readers and copying. The page reads the
window's `DailyFigures` rows and names the clicked papers: two queries, however many subscribers,
deliveries or events there are. The rows are rolled up from the raw tables by `figures_refresh`
(beat, every 10 minutes), which is where the scans over a day's deliveries and events happen.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit, urlunsplit

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from papers.models import Paper
from papers.text import http_url
from subscriptions.models import Subscriber

from .models import DailyFigures, Delivery, ProviderEvent

DEFAULT_DAYS = 30
TOP_PAPERS = 10
CLICKED_URLS_KEPT = 200  # a day's most-clicked links are kept and matched to papers; the long tail is not
FRESH_DAYS = 2  # today and yesterday are rolled up again on every refresh: their events still arrive

# Chart geometry (SVG user units; the SVG scales to the page width).
WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 30

STATUS_COLORS = {
    Delivery.Status.SENT: "#2e7d32",
    Delivery.Status.SKIPPED: "#9e9e9e",
    Delivery.Status.PLANNED: "#1e88e5",
    Delivery.Status.SENDING: "#90caf9",
    Delivery.Status.FAILED: "#c62828",
    Delivery.Status.UNKNOWN: "#ef6c00",
}


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str


@dataclass
class Line:
    name: str
    color: str
    points: str
    dash: str = ""  # later lines dashed: where two lines meet (both at zero), both stay visible


@dataclass
class Chart:
    title: str
    slug: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list] = field(default_factory=list)

    @property
    def plot_left(self) -> int:
        return PAD_LEFT

    @property
    def plot_right(self) -> int:
        return self.width - PAD_RIGHT

    @property
    def plot_bottom(self) -> int:
        return self.height - PAD_BOTTOM


@dataclass
class Dashboard:
    days: int
    start: date
    end: date
    charts: list[Chart]
    totals: dict[str, object]
    top_papers: list[dict]
    as_of: datetime | None = None  # when the newest roll-up in the window was computed


# --- Geometry ----------------------------------------------------------------------------------


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _axes(chart: Chart, days: list[date], y_max: float, percent: bool = False) -> tuple[float, float]:
    plot_width = chart.plot_right - chart.plot_left
    plot_height = chart.plot_bottom - PAD_TOP
    slot = plot_width / max(len(days), 1)
    last = len(days) - 1
    for index, day in enumerate(days):
        # A label every week, and the last day unless it would overlap the week's label.
        if (index % 7 == 0 and last - index >= 4) or index == last:
            chart.x_ticks.append((chart.plot_left + slot * (index + 0.5), day.strftime("%b %d")))
    for fraction in (0, 0.5, 1):
        value = y_max * fraction
        label = f"{value:.1f}%" if percent else f"{value:g}"
        chart.y_ticks.append((chart.plot_bottom - plot_height * fraction, label))
    return slot, plot_height


def stacked_bars(
    title: str, slug: str, days: list[date], stacks: dict[date, dict[str, int]], colors: dict
) -> Chart:
    chart = Chart(title=title, slug=slug, legend=[(str(name), color) for name, color in colors.items()])
    y_max = _nice_max(max((sum(stacks.get(day, {}).values()) for day in days), default=0))
    slot, plot_height = _axes(chart, days, y_max)
    for index, day in enumerate(days):
        bottom = chart.plot_bottom
        for name, color in colors.items():
            value = stacks.get(day, {}).get(name, 0)
            if not value:
                continue
            height = plot_height * value / y_max
            bottom -= height
            chart.bars.append(
                Bar(
                    x=round(chart.plot_left + slot * index + slot * 0.15, 2),
                    y=round(bottom, 2),
                    width=round(slot * 0.7, 2),
                    height=round(height, 2),
                    color=color,
                    label=f"{day:%b %d}: {value} {name}",
                )
            )
    chart.table_head = ["Day", *[str(name) for name in colors]]
    chart.table_rows = [[day, *[stacks.get(day, {}).get(name, 0) for name in colors]] for day in days]
    return chart


def line_chart(
    title: str,
    slug: str,
    days: list[date],
    series: dict[str, list[float]],
    colors: dict,
    percent: bool = False,
) -> Chart:
    chart = Chart(title=title, slug=slug, legend=[(name, colors[name]) for name in series])
    y_max = _nice_max(max((max(values, default=0) for values in series.values()), default=0))
    slot, plot_height = _axes(chart, days, y_max, percent=percent)
    for n, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{chart.plot_left + slot * (i + 0.5):.2f},{chart.plot_bottom - plot_height * value / y_max:.2f}"
            for i, value in enumerate(values)
        )
        chart.lines.append(Line(name=name, color=colors[name], points=points, dash="6 4" if n else ""))
    chart.table_head = ["Day", *series]
    chart.table_rows = [
        [day, *[(f"{values[i]:.2f}%" if percent else values[i]) for values in series.values()]]
        for i, day in enumerate(days)
    ]
    return chart


def percent_text(value: float) -> str:
    """Every rate on the page to two decimals, a rate too small for that said so ("< 0.01%")."""
    if 0 < value < 0.005:
        return "< 0.01%"
    return f"{value:.2f}%"


# --- Queries -----------------------------------------------------------------------------------


def _subscribers_charts(
    days: list[date], subscribed: list[int], signups: list[int], left: list[int]
) -> list[Chart]:
    # Two charts: the running total is hundreds or thousands, a day's sign-ups a handful; on one
    # axis the daily lines lie flat along the bottom, where the total also starts on a new list.
    total = line_chart(
        "Subscribers over time",
        "subscribers",
        days,
        {"Subscribed (confirmed, not left)": subscribed},
        {"Subscribed (confirmed, not left)": "#1e88e5"},
    )
    daily = line_chart(
        "Sign-ups and leavers per day",
        "signups",
        days,
        {"Sign-ups per day": signups, "Left per day": left},
        {"Sign-ups per day": "#43a047", "Left per day": "#e53935"},
    )
    return [total, daily]


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def figures_compute(day: date) -> dict:
    """One day's figures from the raw tables: a pass over subscribers, the day's deliveries from the
    (edition_date, status) index, the day's events from the (occurred_at, id) index."""
    start, end = _bounds(day)
    left_states = [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.SUPPRESSED]
    left = Q(status__in=left_states, confirmed_at__isnull=False)
    people = Subscriber.objects.annotate(left_at=Coalesce("unsubscribed_at", "suppressed_at")).aggregate(
        signups=Count("id", filter=Q(created_at__gte=start, created_at__lt=end)),
        confirmed=Count("id", filter=Q(confirmed_at__gte=start, confirmed_at__lt=end)),
        left=Count("id", filter=left & Q(left_at__gte=start, left_at__lt=end)),
        ever_confirmed=Count("id", filter=Q(confirmed_at__lt=end)),
        gone=Count("id", filter=left & Q(left_at__lt=end)),
    )
    deliveries = dict(
        Delivery.objects.filter(edition_date=day)
        .order_by()
        .values_list("status")
        # COUNT(*), not COUNT(id): the (edition_date, status) index then answers alone.
        .annotate(n=Count("*"))
    )
    events: dict[str, int] = defaultdict(int)
    rows = (
        ProviderEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end, delivery__isnull=False)
        .order_by()
        .values_list("event_type", "outcome")
        .annotate(n=Count("*"))
    )
    for kind, outcome, n in rows:
        if kind == "bounced" and outcome != ProviderEvent.Outcome.SUPPRESSED:
            kind = "soft_bounce"  # a soft bounce is no reason for alarm
        events[kind] += n
    clicked = (
        ProviderEvent.objects.filter(event_type="clicked", occurred_at__gte=start, occurred_at__lt=end)
        .exclude(url="")
        .order_by()
        .values_list("url")
        .annotate(n=Count("*"))
        .order_by("-n")[:CLICKED_URLS_KEPT]
    )
    return {
        "subscribed": people["ever_confirmed"] - people["gone"],
        "signups": people["signups"],
        "confirmed": people["confirmed"],
        "left": people["left"],
        "deliveries": deliveries,
        "events": dict(events),
        "clicked_urls": dict(clicked),
    }


def figures_refresh(*, today: date | None = None, days: int = DEFAULT_DAYS) -> int:
    """Roll up today and yesterday (their events still arrive), and any day of the window that has
    no figures yet (a new install, a stopped beat); the number of days computed. Beat runs it every
    10 minutes (newsletter.tasks.refresh_admin_figures)."""
    today = today or timezone.localdate()
    window = [today - timedelta(days=offset) for offset in range(days)]
    have = set(DailyFigures.objects.filter(day__in=window).values_list("day", flat=True))
    due = sorted({day for day in window if day not in have} | set(window[:FRESH_DAYS]))
    for day in due:
        DailyFigures.objects.update_or_create(
            day=day, defaults={**figures_compute(day), "computed_at": timezone.now()}
        )
    return len(due)


def _normalised_url(url: str) -> str:
    """A link as papers store it: no fragment, no trailing slash (queries kept: they can name a paper)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


def most_clicked_papers(clicks: dict[str, int], limit: int = TOP_PAPERS) -> list[dict]:
    """Papers whose links were clicked most, from {clicked url: clicks} (the roll-ups' top links)."""
    by_url: dict[str, int] = defaultdict(int)
    for url, n in clicks.items():
        by_url[_normalised_url(url)] += n
    if not by_url:
        return []
    candidates = set(by_url) | {f"{url}/" for url in by_url}
    url_fields = ("abs_url", "pdf_url", "code_url", "hf_url", "project_url")
    matches = Q()
    for name in url_fields:
        matches |= Q(**{f"{name}__in": candidates})
    papers = Paper.objects.filter(matches).only("id", "title", "display_title", *url_fields)
    ranked = []
    for paper in papers:
        links = {_normalised_url(getattr(paper, name)) for name in url_fields if getattr(paper, name)}
        total = sum(by_url.get(link, 0) for link in links)
        if total:
            link = http_url(paper.abs_url) or http_url(paper.pdf_url)
            ranked.append({"paper": paper, "title": paper.title_text, "link": link, "clicks": total})
    ranked.sort(key=lambda row: (-row["clicks"], row["title"]))
    return ranked[:limit]


def build(*, days: int = DEFAULT_DAYS, today: date | None = None) -> Dashboard:
    """The dashboard from the roll-ups: one query for the window's figures, one to name clicked papers."""
    today = today or timezone.localdate()
    day_list = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    figures = {row.day: row for row in DailyFigures.objects.filter(day__gte=day_list[0], day__lte=today)}

    subscribed, running = [], 0
    for day in day_list:
        row = figures.get(day)
        running = row.subscribed if row else running  # a day not rolled up yet keeps the day before's
        subscribed.append(running)
    signups = [figures[day].signups if day in figures else 0 for day in day_list]
    left = [figures[day].left if day in figures else 0 for day in day_list]
    subscribers = _subscribers_charts(day_list, subscribed, signups, left)

    stacks = {day: figures[day].deliveries for day in day_list if day in figures}
    deliveries = stacked_bars("Deliveries per day by status", "deliveries", day_list, stacks, STATUS_COLORS)
    events = {day: figures[day].events for day in day_list if day in figures}

    def rate(kind: str, day: date) -> float:
        sent = stacks.get(day, {}).get(Delivery.Status.SENT, 0)
        return 100 * events.get(day, {}).get(kind, 0) / sent if sent else 0.0

    rates = line_chart(
        "Bounce and complaint rates (per digest sent)",
        "rates",
        day_list,
        {
            "Hard bounces": [rate("bounced", day) for day in day_list],
            "Complaints": [rate("complained", day) for day in day_list],
        },
        {"Hard bounces": "#ef6c00", "Complaints": "#c62828"},
        percent=True,
    )

    sent_total = sum(stack.get(Delivery.Status.SENT, 0) for stack in stacks.values())

    def total(kind: str) -> int:
        return sum(per_day.get(kind, 0) for per_day in events.values())

    clicks: dict[str, int] = defaultdict(int)
    for row in figures.values():
        for url, n in row.clicked_urls.items():
            clicks[url] += n
    totals = {
        "subscribed": subscribed[-1] if subscribed else 0,
        "signups": sum(signups),
        "left": sum(left),
        "sent": sent_total,
        "unknown": sum(stack.get(Delivery.Status.UNKNOWN, 0) for stack in stacks.values()),
        "failed": sum(stack.get(Delivery.Status.FAILED, 0) for stack in stacks.values()),
        "bounces": total("bounced"),
        "complaints": total("complained"),
        "opens": total("opened"),
        "clicks": total("clicked"),
        "bounce_rate": 100 * total("bounced") / sent_total if sent_total else 0.0,
        "complaint_rate": 100 * total("complained") / sent_total if sent_total else 0.0,
    }
    totals.update(
        bounce_rate_text=percent_text(totals["bounce_rate"]),
        complaint_rate_text=percent_text(totals["complaint_rate"]),
    )
    return Dashboard(
        days=days,
        start=day_list[0],
        end=today,
        charts=[*subscribers, deliveries, rates],
        totals=totals,
        top_papers=most_clicked_papers(clicks),
        as_of=max((row.computed_at for row in figures.values()), default=None),
    )
