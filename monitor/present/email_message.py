"""Building the MIME messages monitor sends: the digest and spike alerts.

    multipart/alternative
    ├── text/plain; charset=utf-8
    └── multipart/related
        ├── text/html; charset=utf-8      (CSS inlined, images by cid:, nothing external)
        └── image/png                     (Content-ID referenced from the HTML)

Header values that come from feeds (titles in subjects) are hostile: CR, LF and other
control characters are removed before they reach a header, and the default email policy
encodes non-ASCII (Chinese, Cyrillic) as RFC 2047 words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid

import css_inline

from monitor.present.digest import CHART_CID, Digest, render_html, render_text

MAX_SUBJECT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_header(value: str, limit: int = MAX_SUBJECT) -> str:
    """One line of text fit for a header: control characters become spaces, whitespace is
    collapsed, length is bounded. No CR/LF survives, so no header can be injected."""
    text = unicodedata.normalize("NFC", value or "")
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    return text[:limit].rstrip()


def inline_css(html: str) -> str:
    """Move the <style> rules into style attributes: many mail clients drop <style>."""
    return css_inline.inline(html)


def _domain(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip().strip(">")
    return domain if re.fullmatch(r"[A-Za-z0-9.-]+", domain or "") else "localhost"


def compose(*, subject: str, sender: str, recipients: Sequence[str], text: str, html: str,
            images: dict[str, bytes] | None = None, list_unsubscribe: str | None = None,
            now: datetime | None = None) -> EmailMessage:
    """A multipart/alternative message; `images` maps a Content-ID (without <>) used in the
    HTML as `cid:...` to PNG bytes. The HTML gets its CSS inlined here."""
    message = EmailMessage(policy=default)
    message["Subject"] = clean_header(subject)
    message["From"] = clean_header(sender, 320)
    if recipients:
        message["To"] = ", ".join(clean_header(r, 320) for r in recipients)
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    if list_unsubscribe:
        message["List-Unsubscribe"] = f"<{clean_header(list_unsubscribe, 900).strip('<>')}>"
        if list_unsubscribe.startswith("http"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["MIME-Version"] = "1.0"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(inline_css(html), subtype="html", charset="utf-8", cte="quoted-printable")
    if images:
        html_part = message.get_payload()[1]
        for cid, png in images.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>",
                                  filename=f"{cid}.png", disposition="inline")
    return message


def chart_content_id(digest: Digest) -> str:
    """A Content-ID unique to the digest's week and sender domain (without <>)."""
    return f"{CHART_CID}.{digest.week}@{_domain(digest.sender)}"


def digest_message(digest: Digest, *, recipients: Sequence[str] | None = None,
                   now: datetime | None = None) -> EmailMessage:
    """The digest as an email, to `recipients` (default: the digest's configured recipients)."""
    cid = chart_content_id(digest)
    html = render_html(digest, chart_src=f"cid:{cid}" if digest.chart_png else "")
    images = {cid: digest.chart_png} if digest.chart_png else None
    return compose(subject=digest.subject, sender=digest.sender,
                   recipients=digest.recipients if recipients is None else recipients,
                   text=render_text(digest), html=html, images=images,
                   list_unsubscribe=digest.list_unsubscribe, now=now)
