"""One item of the compliance report, whichever register it is about.

The report judges two registers side by side: the customers' data the organization
processes as a processor (its subprocessors, announced changes, notices: `customers_data`)
and its own processing as a controller (its processing activities and the recipients of
their data, `service.controller`: `controller`). Every item names its `context`, so a
reader tells a subprocessor's gap from a gap in the organization's own processing.
"""

from __future__ import annotations

from service.compliance import rules

CUSTOMERS_DATA, CONTROLLER = "customers_data", "controller"
CONTEXTS = (CUSTOMERS_DATA, CONTROLLER)


def item(
    finding: rules.Finding,
    *,
    context: str = CUSTOMERS_DATA,
    recipient: dict | None = None,
    change: dict | None = None,
    customer: dict | None = None,
    controller_recipient: dict | None = None,
    activity: dict | None = None,
) -> dict:
    """The report's shape of `finding` with the references it is about (None: not about one)."""
    return {
        "severity": finding.severity,
        "rule": finding.rule,
        "context": context,
        "recipient": recipient,
        "controller_recipient": controller_recipient,
        "activity": activity,
        "location": finding.location,
        "change": change,
        "customer": customer,
        "due_on": finding.due_on,
        "detail": finding.detail,
        "fix": finding.fix,
    }


def subject(entry: dict) -> dict:
    """What an item is about, for ordering: a vendor of either register or an activity
    (empty for items about the organization as a whole)."""
    for key in ("recipient", "controller_recipient", "activity"):
        if entry.get(key):
            return entry[key]
    return {}
