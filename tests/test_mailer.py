"""SMTP delivery against a real aiosmtpd server on loopback: plain, STARTTLS and implicit TLS
with a certificate made in the test, AUTH, a refused recipient, a server that drops the
connection, and a digest that goes out once per week. Every received message is parsed
back and its parts, headers, inline image and links checked."""

from __future__ import annotations

import re
import socket
import ssl
import threading
from email import message_from_bytes
from email.policy import default

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.errors import ConfigError
from monitor.present.digest import build_digest
from monitor.present.email_message import chart_content_id, compose, digest_message
from monitor.present.mailer import SmtpConfig, send_digest, send_message
from monitor.store import digest as digest_store
from test_digest_support import HOSTILE_TITLE, WEEK, demo_database, settings

REFUSED = "nobody@example.org"
USER, PASSWORD = "digest", "s3cret-пароль"


class Inbox:
    """An aiosmtpd handler keeping every message; refuses REFUSED; optional flaky DATA."""

    def __init__(self, fail_data_times: int = 0):
        self.messages: list[tuple[list[str], bytes]] = []
        self.fail_data_times = fail_data_times

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_data_times:
            self.fail_data_times -= 1
            return "451 4.3.0 try again later"
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def tls():
    """A throwaway CA: the server's context with its certificate, the client's trusting it."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def _serve(inbox: Inbox, **options) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), **options)
    controller.start()
    return controller


def _config(controller: Controller, security: str = "none", **kw) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=controller.port, security=security, timeout=5,
                      retries=kw.pop("retries", 2), backoff_s=0.0, **kw)


def _simple_message(subject: str = "hello") -> object:
    return compose(subject=subject, sender="digest@monitor.example", recipients=["alice@example.org"],
                   text="text body", html="<p>html body</p>")


@pytest.fixture(scope="module")
def digest_env(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('mailer') / 'monitor.db'}"
    engine = demo_database(url)
    return engine, build_digest(engine, settings(), WEEK)


def test_plain_smtp_delivers_the_digest_with_its_parts_headers_and_inline_chart(digest_env):
    _, digest = digest_env
    inbox = Inbox()
    server = _serve(inbox)
    try:
        delivery = send_message(digest_message(digest), ["alice@example.org", "bob@example.org"],
                                _config(server))
    finally:
        server.stop()
    assert delivery.ok and delivery.delivered == ["alice@example.org", "bob@example.org"]
    assert len(inbox.messages) == 1
    rcpts, raw = inbox.messages[0]
    assert rcpts == ["alice@example.org", "bob@example.org"]
    message = message_from_bytes(raw, policy=default)
    assert message["Subject"] == digest.subject
    assert "社会信用" in message["Subject"] and "Социальный кредит" in message["Subject"]
    assert message["From"] == "digest@monitor.example"
    assert re.fullmatch(r"<[^<>@\s]+@monitor\.example>", message["Message-ID"])
    assert message["Date"].datetime.tzinfo is not None
    assert message["List-Unsubscribe"] == "<https://monitor.example/unsubscribe?u=1>"
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    html = html_part.get_content()
    assert image.get_content_type() == "image/png"
    assert image.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"
    cid = chart_content_id(digest)
    assert image["Content-ID"] == f"<{cid}>" and f'src="cid:{cid}"' in html
    # CSS is inlined and nothing is loaded from elsewhere.
    assert "<style" not in html and 'style="' in html
    assert not re.search(r'<(img|link|script)[^>]+(src|href)="https?:', html)
    links = re.findall(r'href="([^"]+)"', html)
    assert "https://dashboard.monitor.example/" in links
    assert all(link.startswith("https://") for link in links)
    assert digest.stories[0].url in links
    body = text_part.get_content()
    assert "TOP STORIES" in body and digest.stories[0].headline in body


def test_starttls_with_a_certificate_made_in_the_test(tls):
    server_ctx, client_ctx = tls
    inbox = Inbox()
    server = _serve(inbox, tls_context=server_ctx, require_starttls=True)
    try:
        delivery = send_message(_simple_message(), ["alice@example.org"],
                                _config(server, "starttls", ssl_context=client_ctx))
        # Without trusting the test CA the certificate is refused, and not retried.
        untrusted = send_message(_simple_message(), ["alice@example.org"],
                                 _config(server, "starttls"))
    finally:
        server.stop()
    assert delivery.ok and len(inbox.messages) == 1
    assert untrusted.delivered == [] and "SSLCertVerificationError" in untrusted.error
    assert untrusted.attempts == 1


def test_implicit_tls(tls):
    server_ctx, client_ctx = tls
    inbox = Inbox()
    server = _serve(inbox, ssl_context=server_ctx)
    try:
        delivery = send_message(_simple_message(), ["alice@example.org"],
                                _config(server, "tls", ssl_context=client_ctx))
    finally:
        server.stop()
    assert delivery.ok and delivery.delivered == ["alice@example.org"]
    assert message_from_bytes(inbox.messages[0][1], policy=default)["Subject"] == "hello"


def test_auth_over_starttls_and_a_wrong_password_is_reported(tls):
    server_ctx, client_ctx = tls
    inbox = Inbox()
    server = _serve(inbox, tls_context=server_ctx, require_starttls=True, authenticator=_authenticate,
                    auth_required=True, auth_require_tls=True)
    try:
        good = send_message(_simple_message(), ["alice@example.org"],
                            _config(server, "starttls", ssl_context=client_ctx, user=USER,
                                    password=PASSWORD))
        bad = send_message(_simple_message(), ["alice@example.org"],
                           _config(server, "starttls", ssl_context=client_ctx, user=USER,
                                   password="wrong"))
    finally:
        server.stop()
    assert good.ok and len(inbox.messages) == 1
    assert bad.delivered == [] and bad.error.startswith("authentication failed: 535")
    assert bad.attempts == 1


def test_a_refused_recipient_is_reported_and_the_others_delivered():
    inbox = Inbox()
    server = _serve(inbox)
    try:
        delivery = send_message(_simple_message(), ["alice@example.org", REFUSED, "bob@example.org"],
                                _config(server))
    finally:
        server.stop()
    assert delivery.delivered == ["alice@example.org", "bob@example.org"]
    assert delivery.refused == {REFUSED: "550 5.1.1 no such mailbox"}
    assert not delivery.ok and delivery.error is None
    assert inbox.messages[0][0] == ["alice@example.org", "bob@example.org"]


def test_a_temporary_failure_is_retried_until_it_succeeds():
    inbox = Inbox(fail_data_times=1)
    server = _serve(inbox)
    try:
        delivery = send_message(_simple_message(), ["alice@example.org"], _config(server))
    finally:
        server.stop()
    assert delivery.ok and delivery.attempts == 2 and len(inbox.messages) == 1


def test_a_server_that_drops_the_connection_is_retried_then_reported():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []

    def drop_every_connection() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=drop_every_connection, daemon=True)
    thread.start()
    pauses: list[float] = []
    config = SmtpConfig(host="127.0.0.1", port=listener.getsockname()[1], security="none",
                        timeout=5, retries=2, backoff_s=0.5)
    try:
        delivery = send_message(_simple_message(), ["alice@example.org"], config, sleep=pauses.append)
    finally:
        listener.close()
    assert delivery.delivered == [] and delivery.attempts == 3 and len(accepted) == 3
    assert "SMTPServerDisconnected" in delivery.error
    assert pauses == [0.5, 1.0, 2.0]


def test_a_feed_title_cannot_inject_a_header():
    inbox = Inbox()
    server = _serve(inbox)
    try:
        send_message(_simple_message(f"Alert: {HOSTILE_TITLE}"), ["alice@example.org"], _config(server))
    finally:
        server.stop()
    rcpts, raw = inbox.messages[0]
    message = message_from_bytes(raw, policy=default)
    assert rcpts == ["alice@example.org"]
    assert message["Bcc"] is None and b"\nBcc:" not in raw
    assert message["Subject"] == "Alert: Social credit Bcc: evil@x 社会信用 Социальный кредит"


def test_a_week_is_sent_once_unless_forced(digest_env):
    engine, digest = digest_env
    inbox = Inbox()
    server = _serve(inbox)
    try:
        config = _config(server)
        first = send_digest(engine, settings(), digest, config=config)
        second = send_digest(engine, settings(), digest, config=config)
        forced = send_digest(engine, settings(), digest, config=config, force=True)
    finally:
        server.stop()
    assert first.delivery.ok and not first.skipped
    assert second.skipped and second.delivery is None
    assert forced.delivery.ok and forced.message_id != first.message_id
    assert len(inbox.messages) == 2
    with engine.connect() as conn:
        record = digest_store.digest_record(conn, WEEK)
    assert record["message_id"] == forced.message_id
    assert record["recipients"] == ["alice@example.org", "bob@example.org"]


def test_smtp_settings_come_from_env_and_the_password_only_from_env(monkeypatch):
    monkeypatch.setenv("MONITOR_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("MONITOR_SMTP_USER", "digest")
    monkeypatch.delenv("MONITOR_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="MONITOR_SMTP_PASSWORD"):
        SmtpConfig.from_settings(settings({"smtp_security": "starttls"}))
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "pw")
    config = SmtpConfig.from_settings(settings({"smtp_security": "tls", "smtp_timeout": 7.0}))
    assert (config.host, config.port, config.user, config.password, config.timeout) == \
        ("smtp.example.org", 465, "digest", "pw", 7.0)
    monkeypatch.delenv("MONITOR_SMTP_HOST")
    with pytest.raises(ConfigError, match="smtp_host"):
        SmtpConfig.from_settings(settings())
