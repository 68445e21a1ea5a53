"""The boundary to the mail system: an `EmailSender` protocol and its implementations.

Tests use a real SMTP server or the in-memory sender; nothing patches smtplib.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import smtplib
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol

SEVEN_BIT = email.policy.SMTP.clone(cte_type="7bit")


class TemporaryFailure(Exception):
    """Try again later: 4xx replies, connection failures, timeouts."""


class Unreachable(TemporaryFailure):
    """No connection to the server: the rest of the batch is not tried now either."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx); `str()` is its answer."""


class PreparedMessage:
    """One message as bytes, with what the SMTP sender needs for its envelope."""

    __slots__ = ("data", "envelope_from", "message_id", "to")

    def __init__(self, envelope_from: str, to: str, message_id: str, data: bytes) -> None:
        self.envelope_from, self.to, self.message_id, self.data = (
            envelope_from,
            to,
            message_id,
            data,
        )

    def as_bytes(self) -> bytes:
        return self.data

    def to_email(self) -> EmailMessage:
        """The same message parsed, for the in-memory and file senders."""
        from service.mail.messages import POLICY  # the builder imports this module

        return email.message_from_bytes(self.data, policy=POLICY)  # type: ignore[return-value]


class EmailSender(Protocol):
    """Sends messages over one connection: open with `with`, then `send` many."""

    def __enter__(self) -> EmailSender: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def send(self, message: EmailMessage) -> str:
        """Hand over one message; return the server's answer or raise a *Failure."""
        ...


class SMTPSender:
    """SMTP with one reused connection per batch (STARTTLS or implicit TLS optional)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        return smtp

    def __enter__(self) -> SMTPSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    # Takes a PreparedMessage as it is; the other senders are given it parsed.
    accepts_prepared = True

    def send(self, message: EmailMessage | PreparedMessage) -> str:
        if isinstance(message, PreparedMessage):
            sender, recipients = message.envelope_from, [message.to]
        else:
            sender = email.utils.parseaddr(message["Return-Path"] or message["From"])[1]
            recipients = [addr for _, addr in email.utils.getaddresses(message.get_all("To", []))]
        # An address with non-ASCII characters (the API accepts them) needs SMTPUTF8:
        # without it smtplib cannot even encode the command.
        utf8 = not all(address.isascii() for address in (sender, *recipients))
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                if utf8 and not self._offers("smtputf8"):
                    raise PermanentFailure(
                        "553 5.6.7 not sent: the address needs SMTPUTF8, which "
                        f"{self.host} does not offer"
                    )
                # 8-bit bodies (Polish text) only to a server that takes them (RFC 6152);
                # to any other the generator re-encodes them as 7-bit (base64).
                eightbit = self._offers("8bitmime")
                options = ["SMTPUTF8"] if utf8 else []
                options += ["BODY=8BITMIME"] if eightbit else []
                policy = (
                    email.policy.SMTPUTF8 if utf8 else email.policy.SMTP if eightbit else SEVEN_BIT
                )
                if isinstance(message, PreparedMessage):
                    payload = message.as_bytes()  # 7-bit bodies, ASCII headers
                else:
                    payload = message.as_bytes(policy=policy)
                return self._transaction(sender, recipients, payload, options)
            except smtplib.SMTPServerDisconnected as exc:
                # A reused connection may have been dropped by the server: reconnect once.
                self._smtp = None
                if attempt == 2:
                    raise TemporaryFailure(f"server disconnected: {exc}") from exc
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421:
                    self._smtp = None  # the server is closing the connection
                else:
                    self._reset()  # e.g. DATA refused: leave no transaction open
                raise _failure(exc.smtp_code, exc.smtp_error) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._smtp = None
                raise TemporaryFailure(str(exc)) from exc
        raise TemporaryFailure("unreachable")  # pragma: no cover - the loop returns or raises

    def _offers(self, extension: str) -> bool:
        assert self._smtp is not None
        self._smtp.ehlo_or_helo_if_needed()
        return self._smtp.has_extn(extension)

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._smtp = None

    def _transaction(
        self, sender: str, recipients: list[str], payload: bytes, options: list[str]
    ) -> str:
        """MAIL, RCPT, DATA by hand: send_message() hides the server's final answer, and
        that answer is the proof that the notice was accepted."""
        smtp = self._smtp
        assert smtp is not None
        smtp.ehlo_or_helo_if_needed()
        code, answer = smtp.mail(sender, options)
        if code != 250:
            smtp.rset()
            raise _failure(code, answer)
        for recipient in recipients:
            code, answer = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                raise _failure(code, answer)
        code, answer = smtp.data(payload)
        if code != 250:
            raise _failure(code, answer)
        return f"{code} {answer.decode(errors='replace')}"


def _failure(code: int, answer: bytes | str) -> Exception:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    reply = f"{code} {text}".strip()
    return PermanentFailure(reply) if 500 <= code < 600 else TemporaryFailure(reply)


class FileSender:
    """Writes each message as an .eml file: the embedded default of `make run`."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def __enter__(self) -> FileSender:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def send(self, message: EmailMessage) -> str:
        name = message["Message-ID"].strip("<>").replace("/", "_").replace("@", "_at_")
        path = self.directory / f"{name}.eml"
        path.write_bytes(bytes(message))
        return f"250 written {path.name}"


class MemorySender:
    """Keeps messages in a list, for tests of message content."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._lock = threading.Lock()

    def __enter__(self) -> MemorySender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def send(self, message: EmailMessage) -> str:
        with self._lock:
            self.sent.append(message)
        return "250 kept in memory"
