"""Sources of papers, the papers themselves, and the topics they are tagged with."""

from django.db import models
from django.db.models.functions import Lower

from .latex import stored_display_text
from .text import plain_text


class Source(models.Model):
    """A feed Paperboy fetches, with its conditional-GET state and its health."""

    class Kind(models.TextChoices):
        ARXIV_RSS = "arxiv_rss", "arXiv RSS"
        ARXIV_API = "arxiv_api", "arXiv API (Atom)"
        HF_DAILY = "hf_daily", "Hugging Face Daily Papers (JSON)"
        RSS_ATOM = "rss_atom", "Any RSS/Atom feed"

    class Status(models.TextChoices):
        NEVER = "never", "Never fetched"
        OK = "ok", "OK"
        NOT_MODIFIED = "not_modified", "Not modified (304)"
        EMPTY = "empty", "OK, empty feed"
        PARTIAL = "partial", "OK, some entries rejected"
        ERROR = "error", "Error"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=1000)
    enabled = models.BooleanField(default=True)
    fetch_interval = models.DurationField(help_text="How often the source is fetched, e.g. 01:00:00.")

    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)

    last_fetched_at = models.DateTimeField(null=True, blank=True)
    next_fetch_at = models.DateTimeField(
        null=True, blank=True, help_text="Not fetched before this time (interval, Retry-After, backoff)."
    )
    last_status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEVER)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # {"fetched": n, "new": n, "updated": n, "unchanged": n, "skipped": n, "errors": n}
    last_counts = models.JSONField(default=dict, blank=True)
    # Papers, unlike the health above, also come from local files (`fetch_papers --file`, the demo).
    last_new_papers_at = models.DateTimeField(
        null=True, blank=True, help_text="When a fetch or a local file last brought papers new to Paperboy."
    )
    last_new_papers = models.PositiveIntegerField(default=0, help_text="How many new papers that brought.")
    # The last fetch that worked (any status but error) and what it brought: a failing source's
    # last_* fields describe the failure, and curators ask "when did it last work?".
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_success_counts = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Topic(models.Model):
    """A subject readers subscribe to; papers are tagged with it at ingest."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # One keyword or phrase per line; word forms match ("quantization" finds "quantized").
    keywords = models.TextField(blank=True)
    # arXiv categories (e.g. cs.CL), one per line, that count towards the topic.
    categories = models.TextField(blank=True)
    threshold = models.FloatField(default=1.0, help_text="Minimum score for a paper to get this topic.")
    active = models.BooleanField(default=True)
    display_order = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_order", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    @property
    def category_list(self) -> list[str]:
        return [line.strip() for line in self.categories.splitlines() if line.strip()]


class Paper(models.Model):
    """One paper, whatever number of sources and versions it was seen in."""

    arxiv_id = models.CharField(max_length=40, null=True, blank=True, unique=True, help_text="Version-free.")
    version = models.PositiveSmallIntegerField(null=True, blank=True)
    doi = models.CharField(max_length=200, null=True, blank=True)

    title = models.TextField()
    abstract = models.TextField(blank=True)
    # What readers are shown: the title and abstract with their LaTeX turned into Unicode text (papers.latex),
    # computed once whenever the source text is stored, never per reader; "" where that is the source
    # itself (title_text / abstract_text, and every page, fall back to it). The source stays as written.
    display_title = models.TextField(blank=True, editable=False)
    display_abstract = models.TextField(blank=True, editable=False)
    authors = models.JSONField(default=list, blank=True, help_text="Names, in order.")
    categories = models.JSONField(default=list, blank=True, help_text="arXiv categories, primary first.")
    primary_category = models.CharField(max_length=40, blank=True)
    comment = models.TextField(blank=True)

    abs_url = models.URLField(max_length=1000, blank=True)
    pdf_url = models.URLField(max_length=1000, blank=True)
    code_url = models.URLField(max_length=1000, blank=True)
    project_url = models.URLField(max_length=1000, blank=True)
    hf_url = models.URLField(max_length=1000, blank=True)

    published_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    hf_upvotes = models.PositiveIntegerField(null=True, blank=True)
    hf_comments = models.PositiveIntegerField(null=True, blank=True)
    ai_summary = models.TextField(blank=True)

    featured = models.BooleanField(default=False, help_text="Pinned by a curator: shown first.")
    hidden = models.BooleanField(default=False, help_text="Never shown in digests or on the site.")
    trending_score = models.FloatField(default=0.0, db_index=True)

    sources = models.ManyToManyField(Source, through="PaperSighting", related_name="papers")
    topics = models.ManyToManyField(Topic, through="PaperTopic", related_name="papers")

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("doi"), name="paper_doi_unique_ci"),
        ]
        indexes = [
            # Digests and the site read "visible papers, newest first".
            models.Index(fields=["hidden", "-first_seen_at"], name="paper_visible_recent"),
            models.Index(fields=["featured"], condition=models.Q(featured=True), name="paper_featured"),
        ]

    def __str__(self) -> str:
        return self.title_text[:120]

    def save(self, *args, **kwargs) -> None:
        # A curator's edit (admin) or a test's create: the display text follows the source. The
        # ingest's bulk writes fill it themselves (papers.upsert).
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"title", "abstract"} & set(update_fields):
            self.display_title = stored_display_text(self.title)
            self.display_abstract = stored_display_text(self.abstract)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "display_title", "display_abstract"}
        super().save(*args, **kwargs)

    @property
    def title_text(self) -> str:
        """The title as readers see it, as plain text (a row written without display text: the source)."""
        return plain_text(self.display_title or self.title)

    @property
    def abstract_text(self) -> str:
        return plain_text(self.display_abstract or self.abstract)


class PaperSighting(models.Model):
    """A paper seen in a source under the source's own entry id (guid)."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="sightings")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="sightings")
    guid = models.CharField(max_length=1000)
    first_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "guid"], name="sighting_source_guid_unique"),
        ]

    def __str__(self) -> str:
        return f"seen in {self.source} on {self.first_seen_at:%Y-%m-%d}"


class PaperTopic(models.Model):
    """A paper's topic with its score; `manual` rows were set by a person and survive re-tagging."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="paper_topics")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="paper_topics")
    score = models.FloatField(default=0.0)
    manual = models.BooleanField(default=False)
    # A curator removed this topic from the paper: kept so re-tagging does not bring it back.
    excluded = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "topic"], name="papertopic_unique"),
        ]
        indexes = [models.Index(fields=["topic", "paper"])]

    def __str__(self) -> str:
        return f"{self.topic} ({self.score:.2f})"
