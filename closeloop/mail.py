"""Delivery: email over SMTP and the WeCom / DingTalk group robots' webhooks, configured from the environment."""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

TIMEOUT = 20  # seconds: a cron job waits no longer for one server


class DeliveryError(Exception):
    """A send that did not happen; `reason` is one line. As a refusal, `key` names the catalog message."""

    def __init__(self, reason: str, **details):
        super().__init__(reason)
        self.reason = reason
        self.key = reason
        self.details = details


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    starttls: bool
    ssl: bool
    user: str | None
    password: str | None
    sender: str

    @classmethod
    def from_env(cls) -> Smtp | None:
        """CLOSELOOP_SMTP_HOST (none: no email), _PORT (25; 465 with _SSL=1), _STARTTLS=1, _USER, _PASSWORD,
        _FROM (default closeloop@HOST)."""
        host = os.environ.get("CLOSELOOP_SMTP_HOST")
        if not host:
            return None
        use_ssl = os.environ.get("CLOSELOOP_SMTP_SSL", "0") == "1"
        return cls(host=host, port=int(os.environ.get("CLOSELOOP_SMTP_PORT") or (465 if use_ssl else 25)),
                   starttls=os.environ.get("CLOSELOOP_SMTP_STARTTLS", "0") == "1", ssl=use_ssl,
                   user=os.environ.get("CLOSELOOP_SMTP_USER") or None,
                   password=os.environ.get("CLOSELOOP_SMTP_PASSWORD") or None,
                   sender=os.environ.get("CLOSELOOP_SMTP_FROM") or f"closeloop@{host}")

    def send(self, to: list[str], subject: str, body: str, attachments: tuple = (), key: str | None = None) -> None:
        """One message; attachments are (file name, bytes, MIME type); `key` makes its Message-ID (the same
        message sent again keeps it). Any failure is a DeliveryError."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, ", ".join(to), subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{key}@closeloop>" if key else make_msgid(domain="closeloop")
        message.set_content(body)
        for name, data, mime in attachments:
            main, sub = mime.split("/", 1)
            message.add_attachment(data, maintype=main, subtype=sub, filename=name)
        try:
            factory = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
            with factory(self.host, self.port, timeout=TIMEOUT) as server:
                if self.starttls:
                    server.starttls(context=ssl.create_default_context())
                if self.user:
                    server.login(self.user, self.password or "")
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(_one_line(e)) from None


@dataclass(frozen=True)
class EmailChannel:
    smtp: Smtp
    name: str = "email"

    def send(self, person, subject: str, text: str, markdown: str, key: str | None = None) -> None:
        self.smtp.send([person.email], subject, text, key=key)


@dataclass(frozen=True)
class WebhookChannel:
    """A group robot: WeCom's {"msgtype": "markdown", "markdown": {"content"}} or DingTalk's {"title", "text"}."""

    url: str
    kind: str  # wecom, dingtalk
    name: str = "webhook"

    def body(self, subject: str, markdown: str) -> dict:
        if self.kind == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": subject, "text": markdown}}
        return {"msgtype": "markdown", "markdown": {"content": markdown}}

    def send(self, person, subject: str, text: str, markdown: str, key: str | None = None) -> None:
        request = urllib.request.Request(self.url, data=json.dumps(self.body(subject, markdown), ensure_ascii=False)
                                         .encode("utf-8"), headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                reply = answer.read()
        except (OSError, urllib.error.URLError) as e:
            raise DeliveryError(_one_line(e)) from None
        try:
            code = json.loads(reply or b"{}").get("errcode", 0)
        except ValueError:
            code = 0
        if code:  # both robots answer 200 with errcode/errmsg when they refuse a message
            raise DeliveryError(f"errcode {code}: {json.loads(reply).get('errmsg', '')}")


def configured_channels() -> list:
    """Email when CLOSELOOP_SMTP_HOST is set; the robot when CLOSELOOP_WEBHOOK_URL is (CLOSELOOP_WEBHOOK_KIND:
    wecom, the default, or dingtalk)."""
    channels = []
    smtp = Smtp.from_env()
    if smtp:
        channels.append(EmailChannel(smtp))
    if os.environ.get("CLOSELOOP_WEBHOOK_URL"):
        channels.append(WebhookChannel(os.environ["CLOSELOOP_WEBHOOK_URL"],
                                       os.environ.get("CLOSELOOP_WEBHOOK_KIND", "wecom")))
    return channels


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:300]
