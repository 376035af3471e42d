"""Sending mail over SMTP, and sending a week's digest at most once.

Host, port and user come from feeds.yaml or MONITOR_SMTP_*; the password only from
MONITOR_SMTP_PASSWORD (settings.smtp_env()). Security is STARTTLS, implicit TLS or none.
Transient failures (connection refused or dropped, timeouts, 4xx replies) are retried
with exponential back-off; each recipient's refusal is reported on its own, and the
others still get the message.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage

from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.present.digest import Digest
from monitor.present.email_message import digest_message
from monitor.store import digest as store

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError,
             socket.timeout, TimeoutError)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to deliver; the password never comes from a file."""

    host: str
    port: int
    security: str = "starttls"          # starttls, tls or none
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    retries: int = 3                    # extra attempts after the first
    backoff_s: float = 2.0              # first pause; doubles each retry
    ssl_context: ssl.SSLContext | None = None   # default: the system's trusted CAs

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> "SmtpConfig":
        env = settings.smtp_env()
        digest = settings.digest
        if not env["host"]:
            raise ConfigError([f"{settings.source or 'feeds.yaml'}: digest.smtp_host: not set "
                               "(or set MONITOR_SMTP_HOST) so mail cannot be sent"])
        if env["user"] and not env["password"]:
            raise ConfigError([f"{settings.source or 'feeds.yaml'}: digest.smtp_user is set but "
                               "MONITOR_SMTP_PASSWORD is not"])
        values = dict(host=env["host"], port=env["port"] or DEFAULT_PORTS[digest.smtp_security],
                      security=digest.smtp_security, user=env["user"], password=env["password"],
                      timeout=digest.smtp_timeout)
        return cls(**{**values, **overrides})


@dataclass
class Delivery:
    """What happened to one message: who got it, who refused it and why, any fatal error."""

    delivered: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)   # recipient -> "550 reason"
    error: str | None = None           # the connection-level failure after the last retry
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.delivered) and not self.refused and self.error is None


def send_message(message: EmailMessage, recipients: Sequence[str], config: SmtpConfig, *,
                 sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Deliver `message` to `recipients` (the envelope; the To header is not consulted)."""
    delivery = Delivery()
    pending = list(dict.fromkeys(recipients))
    for attempt in range(config.retries + 1):
        delivery.attempts = attempt + 1
        try:
            refused = _deliver_once(message, pending, config)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPAuthenticationError as exc:
            delivery.error = f"authentication failed: {_reply(exc.smtp_code, exc.smtp_error)}"
            return delivery
        except smtplib.SMTPResponseException as exc:
            delivery.error = f"{config.host}:{config.port}: {_reply(exc.smtp_code, exc.smtp_error)}"
            if not 400 <= exc.smtp_code < 500:
                return delivery
            sleep(config.backoff_s * 2 ** attempt)
            continue
        except (*TRANSIENT, smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            delivery.error = f"{config.host}:{config.port}: {type(exc).__name__}: {exc}".strip()
            if isinstance(exc, (ssl.SSLCertVerificationError, smtplib.SMTPNotSupportedError)):
                return delivery   # retrying cannot fix a bad certificate or a missing STARTTLS
            sleep(config.backoff_s * 2 ** attempt)
            continue
        delivery.error = None
        delivery.delivered += [r for r in pending if r not in refused]
        # 4xx refusals are temporary: try those recipients again; 5xx are final.
        pending = [r for r, (code, _) in refused.items() if 400 <= code < 500]
        delivery.refused.update({r: _reply(code, text) for r, (code, text) in refused.items()})
        if not pending:
            break
        sleep(config.backoff_s * 2 ** attempt)
    for recipient in delivery.delivered:
        delivery.refused.pop(recipient, None)
    return delivery


def _deliver_once(message: EmailMessage, recipients: list[str], config: SmtpConfig) -> dict:
    context = config.ssl_context or ssl.create_default_context()
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with client:
        client.ehlo()
        if config.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if config.user:
            _login(client, config.user, config.password or "")
        return client.send_message(message, to_addrs=recipients)


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH; smtplib encodes credentials as ASCII, so UTF-8 ones go through AUTH PLAIN by hand."""
    if (user + password).isascii():
        client.login(user, password)
        return
    if "PLAIN" not in client.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN for a non-ASCII login")
    token = base64.b64encode(f"\0{user}\0{password}".encode("utf-8")).decode("ascii")
    code, text = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


# --- the digest, once per week ---

@dataclass
class DigestSend:
    week: str
    skipped: bool = False              # already sent and not forced
    delivery: Delivery | None = None
    message_id: str | None = None


def send_digest(engine: Engine, settings: Settings, digest: Digest, *, force: bool = False,
                config: SmtpConfig | None = None,
                sleep: Callable[[float], None] = time.sleep) -> DigestSend:
    """Mail `digest` to the configured recipients unless that week went out already
    (`force` sends again). The week is recorded once at least one recipient got it."""
    if not settings.digest.recipients:
        raise ConfigError([f"{settings.source or 'feeds.yaml'}: digest.recipients: empty, "
                           "nobody to send the digest to"])
    with engine.connect() as conn:
        if not force and store.digest_record(conn, digest.week):
            return DigestSend(week=digest.week, skipped=True)
    config = config or SmtpConfig.from_settings(settings)
    message = digest_message(digest)
    delivery = send_message(message, settings.digest.recipients, config, sleep=sleep)
    if delivery.delivered:
        with engine.begin() as conn:
            store.record_digest(conn, digest.week, sent_at=datetime.now(timezone.utc),
                                recipients=delivery.delivered, message_id=message["Message-ID"])
    return DigestSend(week=digest.week, delivery=delivery, message_id=message["Message-ID"])
