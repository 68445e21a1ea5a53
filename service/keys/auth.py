"""Bearer-key authentication and the access rules shared by every view."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from flask import request
from sqlalchemy import select

from service.errors import Forbidden, NotFound, Unauthorized
from service.extensions import db
from service.keys.services import Principal, authenticate
from service.organizations.models import Organization

_UNSET = object()
_ENVIRON_KEY = "dpa_registry.principal"
_ORG_KEY = "dpa_registry.organization"
SLUG = re.compile(r"[a-z0-9-]{1,63}")


def current_principal() -> Principal | None:
    """The caller's key, or None when no key was sent. A bad key is an error, not anonymity."""
    # Cached per request, not on `g`: an app context (and its `g`) can outlive a request.
    cached = request.environ.get(_ENVIRON_KEY, _UNSET)
    if cached is not _UNSET:
        return cached
    header = request.headers.get("Authorization", "")
    principal = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <key>'.")
        principal = authenticate(token.strip())
        if principal is None:
            raise Unauthorized("The key is unknown or revoked.")
    request.environ[_ENVIRON_KEY] = principal
    return principal


def actor() -> str:
    principal = current_principal()
    return principal.actor if principal else "anonymous"


def load_organization(slug: str) -> Organization:
    """The organization named in the path, or 404; cached for the rest of the request."""
    cached = request.environ.get(_ORG_KEY)
    if cached is not None and cached.slug == slug:
        return cached
    # A slug that cannot exist is not looked up (and a NUL byte never reaches the database).
    org = None
    if SLUG.fullmatch(slug):
        org = db.session.execute(
            select(Organization).where(Organization.slug == slug)
        ).scalar_one_or_none()
    if org is None:
        raise NotFound(f"No organization '{slug}'.")
    principal = current_principal()
    if principal is not None and _foreign(principal, org):
        # A key binds its holder to one tenant: with it, another tenant does not exist,
        # even where the same data is public to anonymous callers.
        raise NotFound(f"No organization '{slug}'.")
    request.environ[_ORG_KEY] = org
    return org


def _foreign(principal: Principal, org: Organization) -> bool:
    return principal.role != "admin" and principal.organization_id != org.id


def is_legal(org: Organization) -> bool:
    """True for admin and for this organization's legal staff; never raises."""
    principal = current_principal()
    return principal is not None and (
        principal.role == "admin"
        or (principal.role == "legal" and principal.organization_id == org.id)
    )


def require_legal(org: Organization) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("This needs a legal-staff key.")
    if _foreign(principal, org):
        # Another tenant's key learns nothing, not even that the resource exists.
        raise NotFound("Not found.")
    if principal.role == "customer":
        raise Forbidden("This needs a legal-staff key.")
    return principal


def require_customer_or_legal(org: Organization, customer_id: int) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("This needs a legal-staff key or the customer's own key.")
    if _foreign(principal, org):
        raise NotFound("Not found.")
    if principal.role == "customer" and principal.customer_id != customer_id:
        raise NotFound("Not found.")
    return principal


def require_customer(org: Organization) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("This needs the customer's own key.")
    if _foreign(principal, org):
        raise NotFound("Not found.")
    if principal.role != "customer":
        raise Forbidden("This needs a customer key.")
    return principal


def require_admin() -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("This needs an admin key.")
    if principal.role != "admin":
        raise Forbidden("This needs an admin key.")
    return principal


_RULES: dict[str, Callable] = {
    # Anyone, but a key of another organization meets 404 before its body is read.
    "public": lambda org, kwargs: None,
    "legal": lambda org, kwargs: require_legal(org),
    "customer": lambda org, kwargs: require_customer(org),
    "customer_or_legal": lambda org, kwargs: require_customer_or_legal(org, kwargs["customer_id"]),
}


def access(rule: str) -> Callable:
    """Check the caller before anything else runs, body validation included.

    Put it above `@blp.arguments`, so that a stranger's malformed body earns 401/403/404,
    never a 422 that tells it how the endpoint works.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: object, **kwargs: object) -> object:
            if rule == "admin":
                require_admin()
            else:
                _RULES[rule](load_organization(kwargs["org"]), kwargs)
            return view(*args, **kwargs)

        return wrapper

    return decorator
