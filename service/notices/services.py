"""Who must be told of a change, whether the effective date leaves them their notice, the
notices themselves, and how each notified change stands for its customer (GDPR Art. 28(2),
28(3)(a), 29). The rules are in `service.notices.rules`; the table is docs/notices.md.

Every recipient receives customers' data within its scope, controllers included: additions
of any of them are asked like those of subprocessors; removals are information. Customers
using general authorisation may object until their deadline; those using specific
authorisation must consent before a new recipient, or the new part of one, applies to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union,
    update,
)
from sqlalchemy.dialects import sqlite

from service import clock
from service.agreements.models import AgreementVersion
from service.changes.models import Change, Notice
from service.customers.models import Customer, CustomerAgreement, customer_services
from service.customers.services import join_terms, terms_sql
from service.errors import ValidationFailed
from service.extensions import db
from service.notices import rules
from service.objections.models import Objection
from service.organizations.models import Organization, Service
from service.outbox import services as outbox
from service.recipients import services as recipients

MAX_NAMED_SHORTFALLS = 100
# Notice periods are at most a year (the schemas' bound): older notices cannot be short now.
MAX_NOTICE_DAYS = 366


@dataclass(frozen=True)
class Audience:
    """Whose data a change touches: the customers in `scope` (None = every service) are
    told; those in `receiving` (None = every service) are asked, for they are the ones
    whose data reaches the vendor afterwards (a replace tells the old vendor's other
    customers that it leaves them). `widens`: what an update adds."""

    scope: set[str] | None
    receiving: set[str] | None
    widens: tuple[str, ...] = ()


def _union(*scopes: set[str] | None) -> set[str] | None:
    return None if None in scopes else set().union(*scopes)


def audience(change: Change) -> Audience:
    vendor, day = change.recipient, change.effective_on
    eve = day - timedelta(days=1)
    if change.kind == "update":
        # The old and the new scope both count: the data of both is affected. A parent's
        # scope bounds its children's, so their customers are among these.
        before, after = (
            recipients.effective_scope(vendor, eve),
            recipients.effective_scope(vendor, day),
        )
        added = rules.widening(
            recipients.material_snapshot(recipients.revision_on(vendor, eve)),
            recipients.material_snapshot(change.revision),
            before,
            after,
        )
        return Audience(_union(before, after), _union(before, after), tuple(added))
    if change.kind == "remove":
        # A removal concerns those who had the vendor the day before.
        scope = recipients.effective_scope(vendor, eve)
        return Audience(scope, scope)
    scope = recipients.effective_scope(vendor, day)
    if change.kind == "replace":
        leaving = recipients.effective_scope(change.replaces, eve)
        return Audience(_union(scope, leaving), scope)
    return Audience(scope, scope)


def response_for(change: Change, authorisation: str, *, receives: bool = True) -> str:
    """What a notice of `change` asks a customer (see `rules.asks`)."""
    widens = bool(audience(change).widens) if change.kind == "update" else False
    return rules.asks(change.kind, authorisation, widens=widens, receives=receives)


def _uses(org: Organization, scope: set[str] | None) -> ColumnElement[bool]:
    """SQL: the customer uses a service in `scope` (None: every customer)."""
    if scope is None:
        return true()
    # The services as a subquery of their own: correlated from the LATERAL lookup of
    # `_candidates_with_terms`, a join to `services` here was taken for a cartesian product
    # by SQLAlchemy's linter.
    services = select(Service.id).where(
        Service.organization_id == org.id, Service.slug.in_(sorted(scope))
    )
    return exists().where(
        customer_services.c.customer_id == Customer.id,
        customer_services.c.service_id.in_(services),
    )


def _concerned(
    org: Organization, change: Change, who: Audience, *columns, late: bool = False
) -> Select:
    """The customers a change concerns, as one set-based query.

    Customers still in a relationship on the effective date (those leaving before it are
    not affected) whose services meet the vendor's scope, as the announcement found them:
    a customer registered after it was not owed this notice and was not counted for it
    (`late` drops that condition, for the consent a late customer still owes).
    """
    stmt = select(*columns).where(*_in_relationship(org, change, late=late))
    if who.scope is not None:
        stmt = stmt.where(_uses(org, who.scope))
    return stmt


def _in_relationship(org: Organization, change: Change, *, late: bool = False) -> list:
    """SQL conditions: the organization's customers still in a relationship on the
    effective date, registered by the announcement (`late`: or since)."""
    conditions = [
        Customer.organization_id == org.id,
        or_(Customer.ended_on.is_(None), Customer.ended_on >= change.effective_on),
    ]
    if not late:
        conditions.append(Customer.created_at <= change.announced_at)
    return conditions


def _audience_query(
    org: Organization, change: Change, who: Audience, *, late: bool = False
) -> Select:
    """The concerned customers with their terms (`effective_terms`, in SQL) and whether
    their data reaches the vendor after the change (`receives`)."""
    columns = (column.label(name) for name, column in terms_sql(org).items())
    receives = _uses(org, who.receiving) if who.receiving != who.scope else literal(True)
    return join_terms(
        _concerned(
            org,
            change,
            who,
            Customer.id.label("customer_id"),
            Customer.external_ref,
            Customer.name,
            receives.label("receives"),
            *columns,
            late=late,
        )
    )


def concerned_count(org: Organization, change: Change) -> int:
    """How many customers a change concerns, counted over all of them: for reports and
    benchmarks, never in the announcement (the fan-out worker records the audience)."""
    return db.session.scalar(_concerned(org, change, audience(change), func.count(Customer.id)))


def _may_be_short(org: Organization, change: Change, room: int) -> Select:
    """The ids of the organization's customers that may be owed more than `room` days: a
    superset of those short of notice, read from indexes, never from every customer.

    A customer's notice is its agreement's own, else its version's, else the organization's
    default (`terms_sql`); under an urgent change its emergency clause may replace it with
    the clause's minimum. So only these can be owed more than `room` days: an agreement
    that negotiated more (`notice_days` index; `emergency_notice_days` index when urgent),
    a customer of a version whose default is more (the organization's few versions, then
    the `agreement_version_id` index), and, when the organization's own default is more,
    its customers without a version. The last two are everyone on that default: the
    effective date is then short for each of them unless the terms exempt them."""
    agreement, version = CustomerAgreement, AgreementVersion
    long_versions = select(version.id).where(
        version.organization_id == org.id,
        or_(version.notice_days > room, _urgent_and(change, version.emergency_notice_days > room)),
    )
    sources = [
        select(agreement.customer_id).where(agreement.notice_days > room),
        select(agreement.customer_id).where(agreement.agreement_version_id.in_(long_versions)),
    ]
    if change.urgent:
        sources.append(select(agreement.customer_id).where(agreement.emergency_notice_days > room))
    if org.default_notice_days > room:
        versioned = select(agreement.customer_id).where(agreement.agreement_version_id.is_not(None))
        sources.append(
            select(Customer.id.label("customer_id")).where(
                Customer.organization_id == org.id, Customer.id.not_in(versioned)
            )
        )
    return union(*sources)


def _any_in_relationship(org: Organization, change: Change, candidates: Select) -> bool:
    """Whether any of `candidates` is a customer the change may concern.

    One statement instead of a count of the concerned customers and two maxima, 22 -> 18
    statements per announcement and none over all customers (the count was a parallel seq
    scan, 42 ms at 100,000 customers)."""
    matching = _driven_by(candidates, select(literal(1)).where(*_in_relationship(org, change)))
    return bool(db.session.scalar(select(exists(select(literal(1)).select_from(matching)))))


def _candidates_with_terms(org: Organization, change: Change, candidates: Select):
    """`_audience_query` rows of the concerned `candidates`, driven by them: with
    `Customer.id IN (candidates)` PostgreSQL hashed the candidates and read every customer
    (seq scan, 63-93 ms at 100,000 customers, for one customer owed 120 days); by primary
    key, 0.4 ms."""
    return _driven_by(candidates, _audience_query(org, change, audience(change)))


def _driven_by(candidates: Select, query: Select):
    """`query` (over `Customer`) for the `candidates` ids only, as a subquery.

    On PostgreSQL each candidate is looked up by primary key in a LATERAL subquery with
    LIMIT, which the planner cannot turn into a hash join that reads every customer of the
    organization. SQLite (the embedded default) has no LATERAL; its few customers are
    read with `IN`."""
    ids = candidates.subquery()
    if db.session.get_bind().dialect.name != "postgresql":
        return query.where(Customer.id.in_(select(ids.c.customer_id))).subquery()
    row = query.where(Customer.id == ids.c.customer_id).limit(1).lateral()
    return select(row).select_from(ids).join(row, true()).subquery()


def _urgent_and(change: Change, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return condition if change.urgent else false()


def _asks_objection(change: Change, people) -> ColumnElement[bool]:
    """SQL for `response_for(...) == "objection"` over `_audience_query` rows."""
    if change.kind == "remove":
        return false()
    return and_(people.c.authorisation != "specific", people.c.receives)


def _owed_notice(change: Change, people) -> ColumnElement[int]:
    """SQL: the notice a customer is owed. An urgent change shortens it only for a customer
    whose agreement has an emergency-replacement clause, to that clause's minimum."""
    if not change.urgent:
        return people.c.notice_days
    return case(
        (people.c.emergency_clause, people.c.emergency_notice_days), else_=people.c.notice_days
    )


def deadline(
    org: Organization,
    delivered_at: datetime,
    objection_days: int,
    effective_on: date,
    *,
    post_hoc: bool = False,
) -> datetime:
    """The end of the objection window: the end of the last of `objection_days` days counted
    in the organization's calendar from the day after delivery, but never after the change
    takes effect; under an emergency clause (post hoc) the window runs past it.

    A period in days does not count the day of the event and ends with the last day's last
    hour (Polish Civil Code Art. 111 § 2; Regulation (EEC, Euratom) No 1182/71 Art. 3(1),
    3(2)(b)), in local time, whatever the DST switches in between: a notice delivered at
    16:00 on 1 March with 14 days may be answered until midnight starting 16 March."""
    delivered_on = clock.local_today(org.timezone, delivered_at)
    end = clock.start_of_day(delivered_on + timedelta(days=objection_days + 1), org.timezone)
    if post_hoc:
        return end
    return min(end, clock.start_of_day(effective_on, org.timezone))


def check_notice_period(org: Organization, change: Change) -> None:
    """Refuse an effective date that leaves a general-authorisation customer the change
    concerns less than the notice it is owed (its full notice, or under an urgent change and
    an emergency clause the clause's minimum), naming them.

    Nothing here grows with the customers: only those whose terms may be owed more than the
    room the date leaves (`_may_be_short`, from indexes) are read, and on most announcements
    there are none. How many customers the change concerns is recorded by the fan-out
    worker once it has written their notices (`change.notices_written`). The notice period
    is checked from the announcement, the earliest possible delivery; each customer's change
    applies only once it ran from actual delivery (`rules.standing`).
    """
    if change.kind == "remove":  # information: not held to a notice period
        return
    delivered_on = clock.local_today(org.timezone, change.announced_at)
    # Short of notice: effective_on < delivered_on + notice owed.
    room = (change.effective_on - delivered_on).days
    candidates = _may_be_short(org, change, room)
    if not _any_in_relationship(org, change, candidates):
        return
    people = _candidates_with_terms(org, change, candidates)
    owed = _owed_notice(change, people)
    short = and_(_asks_objection(change, people), owed > room)
    short_count, longest = db.session.execute(
        select(
            func.coalesce(func.sum(case((short, 1), else_=0)), 0),
            func.max(case((short, owed))),
        ).select_from(people)
    ).one()
    if short_count:
        _refuse_short(
            change, people, short, owed, short_count, delivered_on + timedelta(days=longest)
        )


def _refuse_short(change: Change, people, short, owed, count: int, needed: date) -> None:
    earliest = max(change.effective_on, needed)
    named = db.session.execute(
        select(people.c.customer_id, people.c.external_ref, people.c.name, owed.label("owed"))
        .where(short)
        .order_by(people.c.customer_id)
        .limit(MAX_NAMED_SHORTFALLS)
    ).all()
    hint = (
        "customers without an emergency-replacement clause keep their full notice"
        if change.urgent
        else "or mark the change urgent, where agreements have an emergency clause"
    )
    raise ValidationFailed(
        f"The effective date leaves {count} customer(s) less than their contractual "
        f"notice; the earliest allowed date is {earliest}.",
        errors={"effective_on": [f"Must be {earliest} or later ({hint})."]},
        customers_short_of_notice=[
            {
                "id": row.customer_id,
                "external_ref": row.external_ref,
                "name": row.name,
                "notice_days": row.owed,
            }
            for row in named
        ],
        customers_short_of_notice_total=count,
        earliest_allowed=earliest.isoformat(),
    )


def _notice_row(org: Organization, change: Change, who: Audience, row) -> dict:
    """One customer's notice: what it asks, the notice it is owed and its objection window."""
    response = rules.asks(
        change.kind, row.authorisation, widens=bool(who.widens), receives=row.receives
    )
    post_hoc = bool(change.urgent and row.emergency_clause and response == "objection")
    days = row.post_hoc_objection_days if post_hoc else row.objection_days
    announced_at = change.announced_at
    return {
        "change_id": change.id,
        "customer_id": row.customer_id,
        "response": response,
        "notice_days": row.emergency_notice_days if post_hoc else row.notice_days,
        "objection_days": days,
        "post_hoc": post_hoc,
        "created_at": max(announced_at, clock.now()) if row.late else announced_at,
        "objection_deadline": (
            deadline(org, announced_at, days, change.effective_on, post_hoc=post_hoc)
            if response == "objection"
            else None
        ),
    }


# A chunk's notices as arrays, one statement of constant text: executemany of 500 rows
# cost psycopg a parameter conversion per row and was 30% of the fan-out's time (py-spy,
# 10,000 customers).
_INSERT_NOTICES = text(
    "INSERT INTO notices (change_id, customer_id, response, notice_days, objection_days,"
    " post_hoc, created_at, objection_deadline) "
    "SELECT * FROM unnest(CAST(:change_id AS integer[]), CAST(:customer_id AS integer[]),"
    " CAST(:response AS text[]), CAST(:notice_days AS integer[]),"
    " CAST(:objection_days AS integer[]), CAST(:post_hoc AS boolean[]),"
    " CAST(:created_at AS timestamptz[]), CAST(:objection_deadline AS timestamptz[])) "
    "ON CONFLICT (change_id, customer_id) DO NOTHING"
)
_NOTICE_COLUMNS = (
    "change_id",
    "customer_id",
    "response",
    "notice_days",
    "objection_days",
    "post_hoc",
    "created_at",
    "objection_deadline",
)


def _insert_notices(rows: list[dict]) -> None:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(_INSERT_NOTICES, {c: [r[c] for r in rows] for c in _NOTICE_COLUMNS})
        return
    db.session.execute(
        sqlite.insert(Notice).on_conflict_do_nothing(index_elements=["change_id", "customer_id"]),
        rows,
    )


def write_notices(org: Organization, change: Change, after: int, size: int) -> int | None:
    """Write the notices of the next `size` concerned customers after customer id `after`;
    return the last customer id of the chunk, or None when there is no one left.

    Idempotent: a chunk written again (a retry after a crash) adds nothing. The change row
    is read under a share lock, so a withdrawal committing meanwhile either comes first (and
    nothing is written) or waits and then marks these notices withdrawn as well.
    `delivered_at` stays empty until the SMTP server accepts the notice; the objection
    deadline given here runs from the announcement and again from the delivery.
    """
    status = db.session.scalar(
        select(Change.status).where(Change.id == change.id).with_for_update(read=True)
    )
    if status != "announced":
        return None
    who = audience(change)
    chunk = db.session.execute(
        _audience_query(org, change, who)
        .add_columns(literal(False).label("late"))
        .where(Customer.id > after)
        .order_by(Customer.id)
        .limit(size)
    ).all()
    if not chunk:
        return None
    _insert_notices([_notice_row(org, change, who, row) for row in chunk])
    return chunk[-1].customer_id


def ask_late_customer(org: Organization, customer: Customer) -> int:
    """A customer registered between an announcement and its effective date was not counted
    by it; under specific authorisation it still owes consent before the change applies to
    it (Art. 28(2)): write its notice and send it. Return how many it got."""
    today = clock.local_today(org.timezone)
    ahead = db.session.scalars(
        select(Change).where(
            Change.organization_id == org.id,
            Change.status == "announced",
            Change.effective_on > today,
            Change.kind != "remove",
        )
    ).all()
    asked = 0
    for change in ahead:
        who = audience(change)
        row = db.session.execute(
            _audience_query(org, change, who, late=True)
            .add_columns(literal(True).label("late"))
            .where(Customer.id == customer.id)
        ).one_or_none()
        if row is None or row.authorisation != "specific":
            continue
        notice = _notice_row(org, change, who, row)
        if notice["response"] != "consent":
            continue
        _insert_notices([notice])
        # Its own row: the announcement's fan-out finished long ago, or never counted it.
        payload = {"change_id": change.id, "customer_ids": [customer.id]}
        outbox.enqueue("change.announced", payload, org.id)
        asked += 1
    return asked


def withdraw_notices(change: Change, when: datetime) -> int:
    """Mark the notices of a withdrawn change; the mail system tells those who were told."""
    result = db.session.execute(
        update(Notice)
        .where(Notice.change_id == change.id, Notice.withdrawn_at.is_(None))
        .values(withdrawn_at=when)
    )
    return result.rowcount or 0


# --- how notified changes stand for one customer ------------------------------------------


@dataclass(frozen=True)
class Held:
    """A notified change and how it stands for its customer on a day."""

    change: Change
    notice: Notice
    standing: rules.Standing


def _facts(
    org: Organization, change: Change, notice: Notice, answer: Objection | None
) -> rules.Facts:
    def local(moment: datetime | None) -> date | None:
        return clock.local_today(org.timezone, moment) if moment is not None else None

    return rules.Facts(
        kind=change.kind,
        effective_on=change.effective_on,
        response=notice.response,
        notice_days=notice.notice_days,
        delivered_on=local(notice.delivered_at),
        answer=answer.kind if answer else None,
        answer_status=answer.status if answer else None,
        resolution=answer.resolution if answer else None,
        answered_on=local(answer.filed_at) if answer else None,
        resolved_on=local(answer.resolved_at) if answer else None,
    )


def standings(org: Organization, customer_ids: list[int], day: date) -> dict[int, list[Held]]:
    """Every change in effect on `day` that was notified to each of the customers, with how
    it stands for it: customer id -> its list, oldest effective date first (customers with
    none are absent). One query for them all over stored facts (notices, deliveries,
    answers), nothing a job flips; one notice per change and customer, so the order is total.
    """
    rows = db.session.execute(
        select(Change, Notice, Objection)
        .join(Notice, Notice.change_id == Change.id)
        .outerjoin(Objection, Objection.notice_id == Notice.id)
        .where(
            Notice.customer_id.in_(customer_ids),
            Notice.withdrawn_at.is_(None),
            Change.status == "announced",
            Change.effective_on <= day,
        )
        .order_by(Change.effective_on, Change.id)
    ).all()
    found: dict[int, list[Held]] = {}
    for change, notice, answer in rows:
        standing = rules.standing(_facts(org, change, notice, answer), day)
        found.setdefault(notice.customer_id, []).append(Held(change, notice, standing))
    return found


def standing_of(
    org: Organization, notice: Notice, answer: Objection | None, day: date
) -> rules.Standing:
    """How one notice's change stands for its customer on `day`."""
    return rules.standing(_facts(org, notice.change, notice, answer), day)


def delivered_short(org: Organization, day: date) -> list[Held]:
    """Notices delivered too late for their change's effective date, whose change does not
    apply to that customer yet on `day` (its notice period still runs from delivery)."""
    horizon = day - timedelta(days=MAX_NOTICE_DAYS)
    rows = db.session.execute(
        select(Change, Notice)
        .join(Notice, Notice.change_id == Change.id)
        .outerjoin(Objection, Objection.notice_id == Notice.id)
        .where(
            Change.organization_id == org.id,
            Change.status == "announced",
            Change.effective_on > horizon,
            Notice.response == "objection",
            Notice.withdrawn_at.is_(None),
            Notice.delivered_at.is_not(None),
            Objection.id.is_(None),
        )
        .order_by(Change.effective_on, Change.id, Notice.customer_id)
    ).all()
    found = []
    for change, notice in rows:
        standing = rules.standing(_facts(org, change, notice, None), day)
        start = standing.applies_from
        # Short: it applies later than the effective date; shown until it applies.
        if start is not None and start > change.effective_on and start > day:
            found.append(Held(change, notice, standing))
    return found


def standing_fields(org, notice: Notice, answer) -> dict:
    """How the notice's change stands for its customer today, as the list says it."""
    today = clock.local_today(org.timezone)
    if notice.change.effective_on > today:
        day = notice.change.effective_on  # what it will be on the day, as things stand
        standing = standing_of(org, notice, answer, day)
        state = "not_in_effect"
    else:
        standing = standing_of(org, notice, answer, today)
        state = standing.state
    return {"post_hoc": notice.post_hoc, "standing": state, "applies_from": standing.applies_from}
