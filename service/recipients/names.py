"""When two vendor names are the same name: one rule for the API and the import.

"Stripe", "STRIPE", its full-width form, one with a Cyrillic S or a zero-width space are
one vendor to a reader of the public list, so the registry keeps one. The key compares
names as people read them: compatibility-normalised (NFKC), case-folded, without format
characters, with runs of white space made one, and each character replaced by the
representative of its confusable class in Unicode's confusables data (UTS #39, shipped by
`confusable-homoglyphs`).
"""

from __future__ import annotations

import functools
import unicodedata

from confusable_homoglyphs.confusables import confusables_data
from sqlalchemy import select

from service.errors import Conflict
from service.extensions import db
from service.recipients.models import Recipient


@functools.cache
def _prototypes() -> dict[str, str]:
    # The data lists, for each character, every other member of its class: the lowest
    # single code point of a class stands for all of them, whichever member is asked.
    table = {}
    for char, homoglyphs in confusables_data.items():
        members = [char] + [h["c"] for h in homoglyphs]
        singles = [m for m in members if len(m) == 1]
        if len(char) == 1 and singles:
            table[char] = min(singles)
    return table


def name_key(name: str) -> str:
    """The form two names share when a reader could take one for the other."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = " ".join(text.split())
    prototypes = _prototypes()
    skeleton = "".join(prototypes.get(ch, ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", skeleton)


def names_in_use(org_id: int) -> dict[str, tuple[int, str]]:
    """Key -> (id, name) of the organization's vendors."""
    rows = db.session.execute(
        select(Recipient.id, Recipient.name).where(Recipient.organization_id == org_id)
    )
    return {name_key(name): (rid, name) for rid, name in rows}


def check_name_free(org_id: int, name: str, *, own_id: int | None = None) -> None:
    """Refuse a name that is, or reads as, the name of another vendor of the organization."""
    found = names_in_use(org_id).get(name_key(name))
    if found is not None and found[0] != own_id:
        message = f"Vendor {found[0]} is named '{found[1]}', which reads the same."
        raise Conflict(message, errors={"name": [message]})
