"""The database schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Ingest owns feeds, fetches, articles and article_feeds; everything else is derived
by analysis and can be rebuilt from articles with `monitor analyze --full`.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: the same on SQLite (text) and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def _now() -> datetime:
    return datetime.now(timezone.utc)


schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", UTCDateTime, nullable=False, default=_now),
)

feeds = sa.Table(
    "feeds", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("url", sa.Text, nullable=False),            # current URL (301s update it)
    sa.Column("config_url", sa.Text, nullable=False),     # as written in feeds.yaml
    sa.Column("outlet", sa.String(200), nullable=False, default=""),
    sa.Column("group_name", sa.String(100), nullable=False, default="other"),
    sa.Column("language", sa.String(8)),
    sa.Column("country", sa.String(8)),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    # conditional GET
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),
    # health and scheduling
    sa.Column("last_attempt_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_class", sa.String(40)),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    sa.Column("flagged", sa.Boolean, nullable=False, default=False),  # permanent problem
    sa.Column("parse_warning", sa.Text),
    sa.Column("next_due_at", UTCDateTime),
    sa.Column("poll_interval_s", sa.Integer),
    sa.Column("entries_per_day", sa.Float),
    sa.Column("ttl_minutes", sa.Integer),
    # work queue for several fetch workers (PostgreSQL)
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
)

fetches = sa.Table(
    "fetches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("outcome", sa.String(20), nullable=False),   # ok, not_modified, failed
    sa.Column("bytes", sa.Integer, nullable=False, default=0),
    sa.Column("duration_ms", sa.Integer, nullable=False, default=0),
    sa.Column("error_class", sa.String(40)),
    sa.Column("error_message", sa.Text),
    sa.Column("new_items", sa.Integer, nullable=False, default=0),
    sa.Column("total_items", sa.Integer, nullable=False, default=0),
    sa.Column("worker", sa.String(100)),
    sa.Index("ix_fetches_feed_started", "feed_id", "started_at"),
)

articles = sa.Table(
    "articles", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False, default=""),
    sa.Column("original_url", sa.Text, nullable=False, default=""),
    sa.Column("title", sa.Text, nullable=False, default=""),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("content_html", sa.Text, nullable=False, default=""),
    sa.Column("fulltext", sa.Text),
    sa.Column("fulltext_error", sa.Text),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("date_flag", sa.String(10), nullable=False, default="ok"),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("author", sa.Text, nullable=False, default=""),
    sa.Column("categories", sa.JSON, nullable=False, default=list),
    sa.Column("language", sa.String(8), nullable=False, default="und"),
    sa.Column("language_confidence", sa.Float, nullable=False, default=0.0),
    sa.Column("language_source", sa.String(10), nullable=False, default="detected"),
    sa.Column("outlet", sa.String(200), nullable=False, default=""),
    sa.Column("group_name", sa.String(100), nullable=False, default="other"),
    sa.Column("feed", sa.String(200), nullable=False, default=""),   # first feed that carried it
    sa.Column("content_hash", sa.String(64), nullable=False, default=""),
    sa.Column("minhash", sa.LargeBinary),
    sa.Column("duplicate_of", sa.String(64)),
    sa.Column("duplicate_similarity", sa.Float),
    # relevance (analysis; rebuilt by `analyze --full`)
    sa.Column("relevance_score", sa.Float),
    sa.Column("relevant", sa.Boolean),
    sa.Column("relevance_reason", sa.Text),
    # cached tokens of title + text (analysis.text), keyed by the tokenizer version
    sa.Column("tokens", sa.JSON),
    sa.Column("tokens_version", sa.Integer),
    sa.Column("story_id", sa.String(40)),
    sa.Column("theme_id", sa.String(40)),
    sa.Column("analyzed_at", UTCDateTime),
    sa.Index("ix_articles_published", "published_at"),
    sa.Index("ix_articles_url", "url"),
    sa.Index("ix_articles_story", "story_id"),
    sa.Index("ix_articles_analyzed", "analyzed_at"),
)

article_feeds = sa.Table(
    "article_feeds", metadata,
    sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
)

stories = sa.Table(
    "stories", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("headline", sa.Text, nullable=False),
    sa.Column("headline_article_id", sa.String(64)),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("article_count", sa.Integer, nullable=False),
    sa.Column("outlets", sa.JSON, nullable=False, default=list),
    sa.Column("languages", sa.JSON, nullable=False, default=list),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now),
)

themes = sa.Table(
    "themes", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("terms", sa.JSON, nullable=False, default=list),
    sa.Column("headlines", sa.JSON, nullable=False, default=list),
    sa.Column("size", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False, default="active"),   # active, retired
    sa.Column("born_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("retired_at", UTCDateTime),
    sa.Column("model_state", sa.JSON),   # term weights used to match a refit's themes to these
)

theme_events = sa.Table(
    "theme_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),   # birth, merge, split, retirement
    sa.Column("theme_id", sa.String(40), nullable=False),
    sa.Column("related", sa.JSON, nullable=False, default=list),
)

frame_scores = sa.Table(
    "frame_scores", metadata,
    sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("frame", sa.String(100), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("present", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),   # codebook or model
    sa.Column("evidence", sa.JSON, nullable=False, default=list),   # matched terms
)

# Per-day counts behind the dashboard's frame shares (derived data, rebuilt by the framing
# job after each run): relevant original articles per day (UTC) x group x language x outlet
# that carry each frame, and that were scored at all (the shares' denominator).
frame_day_counts = sa.Table(
    "frame_day_counts", metadata,
    sa.Column("day", sa.String(10), primary_key=True),   # YYYY-MM-DD
    sa.Column("group_name", sa.String(100), primary_key=True),
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("outlet", sa.String(200), primary_key=True),
    sa.Column("frame", sa.String(100), primary_key=True),
    sa.Column("articles", sa.Integer, nullable=False),
)

scored_day_counts = sa.Table(
    "scored_day_counts", metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("group_name", sa.String(100), primary_key=True),
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("outlet", sa.String(200), primary_key=True),
    sa.Column("articles", sa.Integer, nullable=False),
)

shifts = sa.Table(
    "shifts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("frame", sa.String(100), nullable=False),
    sa.Column("scope_kind", sa.String(20), nullable=False),   # all, group, language, outlet
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("period", sa.String(20), nullable=False),       # e.g. 2019-06 or 2019-Q2
    sa.Column("method", sa.String(30), nullable=False),       # baseline or changepoint
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("baseline_share", sa.Float, nullable=False),
    sa.Column("effect", sa.Float, nullable=False),
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("p_value", sa.Float),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False, default=list),   # article ids
    sa.Column("detected_at", UTCDateTime, nullable=False, default=_now),
)

annotations = sa.Table(
    "annotations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),   # relevance or frames
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("annotator", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
)

models = sa.Table(
    "models", metadata,
    sa.Column("name", sa.String(100), primary_key=True),   # e.g. relevance, frames:social-credit
    sa.Column("blob", sa.LargeBinary, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False, default=dict),
    sa.Column("trained_at", UTCDateTime, nullable=False, default=_now),
)

digests = sa.Table(
    "digests", metadata,
    sa.Column("week", sa.String(10), primary_key=True),   # ISO week, e.g. 2026-W47
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("recipients", sa.JSON, nullable=False, default=list),
    sa.Column("message_id", sa.Text, nullable=False),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("day", sa.String(10), primary_key=True),   # YYYY-MM-DD of the spike
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
)

analysis_state = sa.Table(
    "analysis_state", metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now),
)
