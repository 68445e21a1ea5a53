"""Helpers for the portal tests: find a form's CSRF token, the link in a sign-in e-mail,
and sign a contact in through the pages, as a browser would (Flask's test client keeps
the cookies)."""

from __future__ import annotations

import re
from email.message import EmailMessage

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/portal/[a-z0-9-]+/sign-in/[A-Za-z0-9_-]+")


def csrf(response) -> str:
    found = CSRF.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


def plain_text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def sign_in_links(messages: list[EmailMessage], address: str) -> list[str]:
    """The sign-in links sent to `address`, oldest first."""
    return [
        LINK.search(plain_text(m)).group(0)
        for m in messages
        if m["To"].addresses[0].addr_spec == address and LINK.search(plain_text(m))
    ]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def request_link(client, slug: str, email: str):
    page = client.get(f"/portal/{slug}/sign-in")
    return client.post(f"/portal/{slug}/sign-in", data={"email": email, "csrf_token": csrf(page)})


def sign_in(client, slug: str, email: str, mail) -> str:
    """Sign `email` in from the link it was sent; return the session's CSRF token."""
    assert request_link(client, slug, email).status_code == 200
    link = path_of(sign_in_links(mail.sent, email)[-1])
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    done = client.post(link, data={"csrf_token": csrf(page)})
    assert done.status_code == 303, done.get_data(as_text=True)
    overview = client.get(f"/portal/{slug}/")
    assert overview.status_code == 200
    return csrf(overview)
