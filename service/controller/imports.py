"""Import the organization's own register in one body: recipients, then activities naming them.

Every row goes through the same service functions as the API (`service.controller.services`),
each in its own savepoint, so that a row's failure does not stop the others from being
checked: every error of every row is reported, with its path (`activities[2].legal_bases`).
Nothing is kept unless every row passed: the caller rolls back on `ValidationFailed`, and on a
dry run (which still writes, to check what the database would say, then rolls back).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from marshmallow import Schema, ValidationError

from service.audit import services as audit
from service.controller import services
from service.controller.models import ControllerRecipient, ProcessingActivity
from service.controller.schemas import (
    IMPORT_MODES,
    ActivityImportSchema,
    RecipientImportSchema,
)
from service.errors import DomainError, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization
from service.recipients import names as vendor_names
from service.recipients.names import name_key

SECTIONS = ("recipients", "activities")
Problems = dict[str, list[str]]


def flatten(messages: object, path: str) -> Problems:
    """Nested messages (marshmallow's or a DomainError's) as path -> messages, list indexes
    in brackets: {"locations": {0: {"mechanism": [...]}}} -> "x.locations[0].mechanism"."""
    if isinstance(messages, dict):
        found: Problems = {}
        for key, value in messages.items():
            if key == "_schema":
                where = path
            elif isinstance(key, int) or str(key).isdigit():
                where = f"{path}[{key}]"
            else:
                where = f"{path}.{key}"
            for name, texts in flatten(value, where).items():
                found.setdefault(name, []).extend(texts)
        return found
    if isinstance(messages, list | tuple) and not all(isinstance(m, str) for m in messages):
        return flatten(dict(enumerate(messages)), path)
    if isinstance(messages, list | tuple):
        return {path: list(messages)}
    return {path: [str(messages)]}


class _Run:
    """One import: the rows' outcomes and every problem found."""

    def __init__(self, org: Organization, actor: str, mode: str) -> None:
        self.org, self.actor, self.mode = org, actor, mode
        self.problems: Problems = {}
        self.outcomes: dict[str, list[dict]] = {section: [] for section in SECTIONS}
        self.failed_names: set[str] = set()

    def problem(self, path: str, message: str) -> None:
        self.problems.setdefault(path, []).append(message)

    def load(self, schema: Schema, item: object, path: str) -> dict | None:
        if not isinstance(item, dict):
            self.problem(path, "Each row is a JSON object.")
            return None
        try:
            return schema.load(item)
        except ValidationError as error:
            for name, texts in flatten(error.messages, path).items():
                self.problems.setdefault(name, []).extend(texts)
            return None

    def attempt(self, path: str, write: Callable[[], object]) -> object | None:
        """Run one row's write in a savepoint; its refusal becomes the row's problems."""
        try:
            with db.session.begin_nested():
                return write()
        except DomainError as error:
            messages = error.errors or {"_schema": [error.detail]}
            for name, texts in flatten(messages, path).items():
                self.problems.setdefault(name, []).extend(texts)
            return None

    # --- recipients ---

    def recipients(self, items: list) -> None:
        vendors = vendor_names.names_in_use(self.org.id)
        existing = services.names_in_use(self.org.id)
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            path = f"recipients[{index}]"
            data = self.load(RecipientImportSchema(), item, path)
            if data is None:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    self.failed_names.add(name_key(item["name"]))
                continue
            key = name_key(data["name"])
            if key in seen:
                self.problem(f"{path}.name", f"Also the name of recipients[{seen[key]}].")
                continue
            seen[key] = index
            if "subprocessor" in data:
                vendor = data.pop("subprocessor")
                found = vendors.get(name_key(vendor)) if vendor else None
                if vendor and found is None:
                    self.problem(f"{path}.subprocessor", f"No vendor named '{vendor}' on the "
                                 "customers'-data list of this organization.")  # fmt: skip
                    self.failed_names.add(key)
                    continue
                data["subprocessor_id"] = found[0] if found else None
            match = self.match_recipient(data, existing.get(key), path)
            if match is False or self.write_recipient(data, match, path) is None:
                self.failed_names.add(key)

    def match_recipient(
        self, data: dict, by_name: ControllerRecipient | None, path: str
    ) -> ControllerRecipient | bool | None:
        """The registered recipient this row corrects (upsert), None for a new one, False
        when the row cannot be applied (create mode, and it exists)."""
        by_id = (
            services.recipient_by_external_id(self.org, data["external_id"])
            if data.get("external_id")
            else None
        )
        if self.mode == "upsert":
            return by_id or by_name
        for field, found in (("name", by_name), ("external_id", by_id)):
            if found is not None:
                self.problem(
                    f"{path}.{field}",
                    f"Controller recipient {found.id} '{found.name}' is registered already "
                    "(mode=upsert corrects it).",
                )
                return False
        return None

    def write_recipient(self, data: dict, match: ControllerRecipient | None, path: str):
        org, actor = self.org, self.actor
        return self.apply(
            ("recipients", data["name"], path),
            match,
            lambda: services.create_recipient(org, data, actor=actor),
            lambda: services.edit_recipient(org, match, data, actor=actor),
        )

    def apply(
        self, where: tuple[str, str, str], match: object, create: Callable, edit: Callable
    ) -> object | None:
        """Create the row, or correct `match`; record the outcome. None: refused."""
        section, label, path = where
        if match is None:
            row, action = self.attempt(path, create), "created"
        else:
            changed = self.attempt(path, edit)
            row = None if changed is None else match
            action = "updated" if changed else "unchanged"
        if row is not None:
            self.outcomes[section].append({"name": label, "id": row.id, "action": action})
        return row

    # --- activities ---

    def activities(self, items: list) -> None:
        recipients = services.names_in_use(self.org.id)
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            path = f"activities[{index}]"
            data = self.load(ActivityImportSchema(), item, path)
            if data is None:
                if isinstance(item, dict) and isinstance(item.get("key"), str):
                    seen.setdefault(item["key"], index)  # a later row may repeat it
                continue
            if data["key"] in seen:
                self.problem(f"{path}.key", f"Also the key of activities[{seen[data['key']]}].")
                continue
            seen[data["key"]] = index
            if "recipients" in data:
                ids = self.recipient_ids(data.pop("recipients"), recipients, path)
                if ids is None:
                    # Still report what the activity itself lacks.
                    values = {**services.blank_activity(), **data}
                    for name, texts in services.activity_problems(values).items():
                        self.problems.setdefault(f"{path}.{name}", []).extend(texts)
                    continue
                data["recipient_ids"] = ids
            existing = services.activity_by_key(self.org, data["key"])
            if existing is not None and self.mode == "create":
                self.problem(
                    f"{path}.key",
                    f"Activity {existing.id} has the key '{data['key']}' already "
                    "(mode=upsert corrects it).",
                )
                continue
            self.write_activity(data, existing, path)

    def recipient_ids(self, given: list[str], known: dict, path: str) -> list[int] | None:
        ids, ok = [], True
        for position, name in enumerate(given):
            found = known.get(name_key(name))
            if found is None:
                why = (
                    "its row in this body has errors"
                    if name_key(name) in self.failed_names
                    else "neither in this body nor registered"
                )
                self.problem(f"{path}.recipients[{position}]", f"No controller recipient "
                             f"'{name}': {why}.")  # fmt: skip
                ok = False
            else:
                ids.append(found.id)
        return ids if ok else None

    def write_activity(self, data: dict, match: ProcessingActivity | None, path: str) -> None:
        org, actor = self.org, self.actor
        self.apply(
            ("activities", data["key"], path),
            match,
            lambda: services.create_activity(org, data, actor=actor),
            lambda: services.edit_activity(org, match, data, actor=actor),
        )


def _sections(body: object) -> dict[str, list]:
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The body is an object with `recipients` and `activities`.",
            errors={"_schema": ['Send {"recipients": [...], "activities": [...]}.']},
        )
    problems: Problems = {}
    for name in body:
        if name not in SECTIONS:
            problems[str(name)] = ["Unknown field: only `recipients` and `activities`."]
    for name in SECTIONS:
        if not isinstance(body.get(name, []), list):
            problems[name] = ["Must be a list."]
    if problems:
        raise ValidationFailed("The body cannot be imported.", errors=problems)
    sections = {name: body.get(name, []) for name in SECTIONS}
    if not any(sections.values()):
        raise ValidationFailed("Nothing to import: both lists are empty.")
    return sections


def import_controller(
    org: Organization,
    body: object,
    *,
    actor: str,
    mode: str = "create",
    dry_run: bool = False,
) -> dict:
    """Write the body's recipients, then its activities; raise ValidationFailed with every
    problem (path -> messages) when any row is refused. The caller commits, or rolls back on
    an error and on a dry run (the result then says what would have been written)."""
    if mode not in IMPORT_MODES:
        raise ValueError(mode)
    sections = _sections(body)
    # Lock the chain outside the rows' savepoints: a lock taken inside one that rolls back
    # would be released with it.
    audit.locked_head(org.id)
    run = _Run(org, actor, mode)
    run.recipients(sections["recipients"])
    run.activities(sections["activities"])
    if run.problems:
        rows = len({path.split(".")[0] for path in run.problems})
        raise ValidationFailed(
            f"{rows} rows are refused; nothing was imported.", errors=run.problems
        )
    result = {"dry_run": dry_run, "mode": mode, **run.outcomes}
    if dry_run:
        for items in run.outcomes.values():
            for item in items:
                if item["action"] == "created":
                    item["id"] = None  # rolled back: no id is kept
    else:
        audit.record(
            org.id,
            actor,
            "import.completed",
            "import",
            uuid.uuid4().hex,
            after={"kind": "controller", "format": "json", "mode": mode, **run.outcomes},
        )
    return result
