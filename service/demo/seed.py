"""Demo data: the organizations of DESIGN.md, loaded through the real services.

The data lives in `demo.json` beside this module and goes through the API's own schemas, so
the demo is held to the same rules as anything a user registers. Every row is looked up by its
natural key (organization slug, service slug, recipient name, customer external reference, key
name) before it is created: a second run creates nothing and changes nothing. Everything is
audited by the services it goes through. Nothing is committed here; the caller commits.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import select

from service import clock
from service.agreements import services as agreements
from service.agreements.schemas import AgreementCreateSchema
from service.audit import services as audit
from service.changes.models import Change
from service.changes.schemas import ChangeCreateSchema
from service.changes.services import announce_change
from service.controller import services as controller
from service.controller.imports import import_controller
from service.customers.models import Customer
from service.customers.schemas import CustomerCreateSchema
from service.customers.services import create_customer
from service.errors import NotFound
from service.extensions import db
from service.keys.models import ApiKey
from service.keys.services import create_key
from service.notices import services as notices
from service.objections import services as objections
from service.organizations.models import Organization, Service
from service.organizations.schemas import OrganizationCreateSchema, ServiceCreateSchema
from service.organizations.services import create_organization, create_service
from service.recipients.models import Recipient
from service.recipients.names import name_key
from service.recipients.schemas import RecipientCreateSchema
from service.recipients.services import register_recipient

DATA_FILE = Path(__file__).with_name("demo.json")
KEYS_FILE = "demo-keys.env"


@cache
def load_data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _fields(item: dict, *meta: str) -> dict:
    """The item without its comments ('_' keys) and the seed's own keys in `meta`."""
    return {k: v for k, v in item.items() if not k.startswith("_") and k not in meta}


def seed(instance_path: str, *, actor: str) -> list[str]:
    """Create whatever of the demo is missing; return what was created (empty: nothing)."""
    data = load_data()
    created: list[str] = []
    new_keys: dict[str, str] = {}
    for entry in data["organizations"]:
        org = _organization(entry["organization"], actor, created)
        for item in entry.get("services", []):
            _service(org, item, actor, created)
        listed_from = date.fromisoformat(entry["listed_from"])
        for item in entry.get("recipients", []):
            _recipient(org, item, listed_from, actor, created)
        if "controller" in entry:
            _controller(org, entry["controller"], actor, created)
        for item in entry.get("customers", []):
            _customer(org, item, actor, created)
        for item in entry.get("agreements", []):
            _agreement(org, item, actor, created)
        for item in entry.get("changes", []):
            _change(org, item, actor, created)
        for item in entry.get("keys", []):
            token = _key(org, item, actor, created)
            if token is not None:
                new_keys[item["env"]] = token
    if new_keys:
        path = write_keys(instance_path, new_keys)
        created.append(f"demo keys in {path}")
    return created


def _organization(item: dict, actor: str, created: list[str]) -> Organization:
    data = OrganizationCreateSchema().load(_fields(item))
    org = db.session.scalar(select(Organization).where(Organization.slug == data["slug"]))
    if org is None:
        org = create_organization(data, actor=actor)
        created.append(f"organization {org.slug}")
    return org


def _service(org: Organization, item: dict, actor: str, created: list[str]) -> None:
    data = ServiceCreateSchema().load(_fields(item))
    exists = db.session.scalar(
        select(Service.id).where(Service.organization_id == org.id, Service.slug == data["slug"])
    )
    if exists is None:
        create_service(org, data, actor=actor)
        created.append(f"service {org.slug}/{data['slug']}")


def _find_recipient(org: Organization, name: str) -> Recipient | None:
    return db.session.scalar(
        select(Recipient).where(Recipient.organization_id == org.id, Recipient.name == name)
    )


def _recipient(
    org: Organization, item: dict, listed_from: date, actor: str, created: list[str]
) -> None:
    if _find_recipient(org, item["name"]) is not None:
        return
    data = RecipientCreateSchema().load(_fields(item, "parent", "listed_from", "announced"))
    if item.get("parent"):
        parent = _find_recipient(org, item["parent"])
        if parent is None:
            raise LookupError(f"demo data: parent '{item['parent']}' must come before its child")
        data["parent_id"] = parent.id
    recipient = register_recipient(org, data, actor=actor)
    if item.get("announced"):
        created.append(f"recipient {org.slug}/{recipient.name} (proposed)")
        return  # a change in `changes` lists it, with notice
    # A vendor already in use before the registry existed joins the list from a past date
    # without an announcement (there was nobody to notify about the past); audited all the same.
    recipient.listed_from = (
        date.fromisoformat(item["listed_from"]) if item.get("listed_from") else listed_from
    )
    audit.record(
        org.id,
        actor,
        "recipient.listed",
        "recipient",
        recipient.id,
        before={"listed_from": None},
        after={"listed_from": recipient.listed_from},
    )
    created.append(f"recipient {org.slug}/{recipient.name}")


def _controller(org: Organization, block: dict, actor: str, created: list[str]) -> None:
    """The organization's own register (activities and recipients of its data), through the
    import a user would call; only what is missing, so a second run writes nothing."""
    registered = controller.names_in_use(org.id)
    body = {
        "recipients": [
            _fields(item)
            for item in block.get("recipients", [])
            if name_key(item["name"]) not in registered
        ],
        "activities": [
            _fields(item)
            for item in block.get("activities", [])
            if controller.activity_by_key(org, item["key"]) is None
        ],
    }
    if not any(body.values()):
        return
    result = import_controller(org, body, actor=actor)
    for section, label in (("recipients", "controller recipient"), ("activities", "activity")):
        created += [f"{label} {org.slug}/{row['name']}" for row in result[section]]


def _customer(org: Organization, item: dict, actor: str, created: list[str]) -> None:
    data = CustomerCreateSchema().load(_fields(item))
    exists = db.session.scalar(
        select(Customer.id).where(
            Customer.organization_id == org.id, Customer.external_ref == data["external_ref"]
        )
    )
    if exists is None:
        create_customer(org, data, actor=actor)
        created.append(f"customer {org.slug}/{data['external_ref']}")


def _agreement(org: Organization, item: dict, actor: str, created: list[str]) -> None:
    """Publish the version without asking anyone (its customers accepted it before the
    registry existed), then record those acceptances as imported."""
    data = AgreementCreateSchema().load(_fields(item, "accepted_by"))
    try:
        version = agreements.get_version(org, data["version"])
    except NotFound:
        version = agreements.create_version(org, data, actor=actor)
        agreements.publish_version(org, version, actor=actor, notify=False)
        created.append(f"agreement {org.slug}/{version.label}")
    for ref in item.get("accepted_by", []):
        customer = db.session.scalar(
            select(Customer).where(Customer.organization_id == org.id, Customer.external_ref == ref)
        )
        if customer is None:
            raise LookupError(f"demo data: no customer '{ref}' in {org.slug}")
        if agreements.acceptance_of(customer, version.label) is not None:
            continue
        contact = customer.contacts[0]
        agreements.accept_version(
            org, customer, version.label,
            name=contact.name, email=contact.email, ip=None, user_agent=None,
            channel="import", actor=actor,
        )  # fmt: skip
        created.append(f"acceptance {org.slug}/{ref}/{version.label}")


def _change(org: Organization, item: dict, actor: str, created: list[str]) -> None:
    """Announce a change relative to today, once per vendor, with its notices written at
    once (not by the worker) so the customers' answers in the demo can be filed."""
    recipient = _find_recipient(org, item["recipient"])
    if recipient is None:
        raise LookupError(f"demo data: no recipient '{item['recipient']}' in {org.slug}")
    if db.session.scalar(select(Change.id).where(Change.recipient_id == recipient.id)):
        return
    body = {
        "kind": item["kind"],
        "recipient_id": recipient.id,
        "effective_on": clock.local_today(org.timezone) + timedelta(days=item["effective_in_days"]),
        **{k: item[k] for k in ("reason", "urgent", "urgent_justification") if k in item},
    }
    change = announce_change(org, ChangeCreateSchema().load(_jsonable(body)), actor=actor)
    notices.write_notices(org, change, 0, 1000)
    created.append(f"change {org.slug}/{item['kind']} {recipient.name}")
    for answer in item.get("objections", []):
        customer = db.session.scalar(
            select(Customer).where(
                Customer.organization_id == org.id, Customer.external_ref == answer["customer"]
            )
        )
        notice = objections.notice_of(change, customer.id)
        objections.file_answer(
            org, notice, "objection", answer["reason"], channel="api", actor=actor
        )
        created.append(f"objection {org.slug}/{answer['customer']}")


def _jsonable(body: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}


def _key(org: Organization, item: dict, actor: str, created: list[str]) -> str | None:
    """Create the key unless one of that name exists; return the plaintext only when created.

    A revoked demo key counts as existing: `make run` seeds at every start and must not undo
    an operator's revocation by issuing a fresh key behind their back.
    """
    exists = db.session.scalar(
        select(ApiKey.id).where(ApiKey.organization_id == org.id, ApiKey.name == item["name"])
    )
    if exists is not None:
        return None
    customer_id = None
    if item["role"] == "customer":
        customer_id = db.session.scalar(
            select(Customer.id).where(
                Customer.organization_id == org.id, Customer.external_ref == item["customer"]
            )
        )
        if customer_id is None:
            raise LookupError(f"demo data: no customer '{item['customer']}' in {org.slug}")
    _, token = create_key(
        role=item["role"],
        name=item["name"],
        organization_id=org.id,
        customer_id=customer_id,
        actor=actor,
    )
    created.append(f"key '{item['name']}'")
    return token


# --- the keys file ------------------------------------------------------------------------


def _read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name and not name.startswith("#"):
            values[name] = value
    return values


def write_keys(instance_path: str, new_keys: dict[str, str]) -> Path:
    """Write the keys just created, keeping those of earlier runs the file already holds.

    Keys are shown once, so this file is the only copy: it is readable by its owner alone and
    replaced atomically, so an interrupted write never leaves half a file.
    """
    directory = Path(instance_path)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEYS_FILE
    values = {**_read_env(path), **new_keys}
    lines = [
        "# DPA Registry demo API keys, written by `flask --app service seed demo`.",
        "# Shown once: the database keeps only their hashes. Use them as",
        '#   curl -H "Authorization: Bearer $BOOKERO_LEGAL_KEY" '
        "http://127.0.0.1:8000/api/v1/orgs/bookero/customers",
    ]
    described = set()
    for entry in load_data()["organizations"]:
        slug = entry["organization"]["slug"]
        names = {c["external_ref"]: c["name"] for c in entry.get("customers", [])}
        for item in entry.get("keys", []):
            env = item["env"]
            if env not in values:
                continue
            if item["role"] == "customer":
                ref = item["customer"]
                lines.append(f"# {env}: customer {ref} '{names.get(ref, ref)}' of {slug}")
            else:
                lines.append(f"# {env}: {item['role']} staff of {slug}")
            lines.append(f"{env}={values[env]}")
            described.add(env)
    # Lines for keys no longer in the demo data stay: they may still be in use.
    lines += [f"{name}={value}" for name, value in values.items() if name not in described]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{KEYS_FILE}.")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
