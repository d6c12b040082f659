"""Life-event kinds as declarations: the facts each carries, who may report it, what it
implies. Pure Python (no Django, no database), so every rule here is tested with values.

A kind is one ``LifeEventKind`` in ``KINDS``. Adding a life moment is adding a
declaration: the registry's service validates with ``validate_facts``, finds the same
event with ``identity``, spots a conflicting second report with ``conflicts``, tells
agencies the kind's ``follow_up_event`` and records the life events it ``implies``
(a marriage with a new surname is also a name change). Nothing about a kind is decided
anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from registration.rules import identifiers

PERSON = "person"
ORGANISATION = "organisation"


class Reporter(StrEnum):
    """Who tells the hub: an agency on its own account, or a notifier it serves."""

    AGENCY = "agency"  # an agency reporting what it learnt itself (no notifier)
    SELF = "self"  # the person (or, for a business, its owner or director)
    RELATIVE = "relative"  # a spouse, partner, parent, child or other relative
    EXECUTOR = "executor"  # an executor or administrator of an estate


# A notifier says how they relate to the person; the relationship decides the role.
RELATIONSHIPS: dict[str, Reporter] = {
    "self": Reporter.SELF,
    "spouse_or_partner": Reporter.RELATIVE,
    "parent": Reporter.RELATIVE,
    "child": Reporter.RELATIVE,
    "other_relative": Reporter.RELATIVE,
    "executor": Reporter.EXECUTOR,
    "administrator": Reporter.EXECUTOR,
}


class FactError(ValueError):
    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


# --- fact types: each checks one value and returns its canonical form -------------------


def _text(max_length: int) -> Callable[[object, str], str]:
    def check(value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise FactError("invalid_value", "Enter a text value", where)
        value = " ".join(value.split())
        if len(value) > max_length:
            raise FactError(
                "too_long", f"At most {max_length} characters (got {len(value)})", where
            )
        return value

    return check


def _choice(*choices: str) -> Callable[[object, str], str]:
    def check(value: object, where: str) -> str:
        if value not in choices:
            raise FactError("invalid_choice", f"Use one of: {', '.join(choices)}", where)
        return value

    return check


def _date(value: object, where: str) -> str:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else _bad()
    except ValueError:
        raise FactError("invalid_date", "A date as YYYY-MM-DD", where) from None


def _bad():
    raise ValueError


_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ADDRESS_PARTS = {"line1": 200, "line2": 200, "postcode": 20, "city": 100, "country": 2}


def _address(value: object, where: str) -> dict:
    if not isinstance(value, Mapping):
        raise FactError("invalid_value", "An address: line1, postcode, city, country", where)
    unknown = sorted(set(value) - set(_ADDRESS_PARTS))
    if unknown:
        raise FactError("unknown_field", f"Not part of an address: {unknown[0]}", where)
    address = {}
    for part, limit in _ADDRESS_PARTS.items():
        raw = value.get(part)
        if raw in (None, "") and part == "line2":
            continue
        address[part] = _text(limit)(raw, f"{where}.{part}")
    if not _COUNTRY.match(address["country"]):
        raise FactError("invalid_value", "ISO 3166-1 alpha-2, e.g. NL", f"{where}.country")
    return address


def _business_identifier(value: object, where: str) -> dict:
    if not isinstance(value, Mapping) or set(value) != {"scheme", "value"}:
        raise FactError("invalid_value", 'Give {"scheme": …, "value": …}', where)
    scheme = value["scheme"]
    if scheme not in identifiers.SCHEMES or identifiers.SCHEMES[scheme].kind != ORGANISATION:
        choices = sorted(c for c, s in identifiers.SCHEMES.items() if s.kind == ORGANISATION)
        raise FactError("invalid_choice", f"Use one of: {', '.join(choices)}", f"{where}.scheme")
    try:
        normalised = identifiers.normalise(scheme, value["value"])
    except identifiers.IdentifierError as exc:
        raise FactError(exc.code, exc.message, f"{where}.value") from exc
    return {"scheme": scheme, "value": normalised}


@dataclass(frozen=True)
class Fact:
    name: str
    check: Callable[[object, str], object]
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Implied:
    """Another life event a kind implies when one of its facts is given."""

    kind: str
    from_fact: str  # the fact of the reported event that carries it
    as_fact: str  # the implied event's fact


@dataclass(frozen=True)
class LifeEventKind:
    code: str
    label: str
    subject: frozenset[str]  # person, organisation
    reporters: frozenset[Reporter]
    facts: tuple[Fact, ...] = ()
    # Same subject and kind and these facts ("occurred_on" is the date): the same event,
    # a second report of it. ``once`` kinds (a death) are one event per subject whatever
    # a second report says; anything else it says differently is a conflict.
    identified_by: tuple[str, ...] = ()
    once: bool = False
    # The extra event agencies get beside ``constituent.life_event`` (their systems
    # react to it: collections stops on ``constituent.deceased``).
    follow_up_event: str | None = None
    implies: tuple[Implied, ...] = ()
    # What the event changes on the shared record: the record's field and where the
    # value comes from ("occurred_on" or a fact's name).
    record_changes: tuple[tuple[str, str], ...] = ()
    status_becomes: str | None = None
    # The occurred_on must agree with the record's date of birth (a birth is that date).
    is_birth: bool = False

    def fact(self, name: str) -> Fact | None:
        return next((f for f in self.facts if f.name == name), None)


_PARTNER_NAME = Fact("partner_name", _text(300), True, "The spouse's or partner's full name")
_NEW_NAME = Fact("new_name", _text(300), False, "The name the person takes, if it changes")
_PLACE = Fact("place", _text(200), False, "Town or register office")
_ANYONE_FOR_THEMSELF = frozenset({Reporter.AGENCY, Reporter.SELF, Reporter.RELATIVE})

KINDS: dict[str, LifeEventKind] = {
    kind.code: kind
    for kind in (
        LifeEventKind(
            "death",
            "Death",
            subject=frozenset({PERSON}),
            # Someone else tells government of a death, never the person.
            reporters=frozenset({Reporter.AGENCY, Reporter.RELATIVE, Reporter.EXECUTOR}),
            facts=(
                Fact("place_of_death", _text(200), False, "Town or hospital"),
                Fact("certificate_reference", _text(60), False, "Death certificate entry"),
            ),
            once=True,
            follow_up_event="constituent.deceased",
            record_changes=(("deceased_on", "occurred_on"),),
            status_becomes="deceased",
        ),
        LifeEventKind(
            "birth",
            "Birth",
            subject=frozenset({PERSON}),
            reporters=frozenset({Reporter.AGENCY, Reporter.RELATIVE}),
            facts=(
                Fact("place_of_birth", _text(200), True, "Town or hospital"),
                Fact("parent_name", _text(300), True, "A parent's full name"),
                Fact("second_parent_name", _text(300), False, "The other parent's full name"),
            ),
            once=True,
            follow_up_event="constituent.born",
            record_changes=(("date_of_birth", "occurred_on"),),
            is_birth=True,
        ),
        LifeEventKind(
            "marriage",
            "Marriage",
            subject=frozenset({PERSON}),
            reporters=_ANYONE_FOR_THEMSELF,
            facts=(_PARTNER_NAME, _PLACE, _NEW_NAME),
            identified_by=("partner_name",),
            follow_up_event="constituent.partnership_formed",
            implies=(Implied("name_change", "new_name", "name"),),
        ),
        LifeEventKind(
            "civil_partnership",
            "Civil partnership",
            subject=frozenset({PERSON}),
            reporters=_ANYONE_FOR_THEMSELF,
            facts=(_PARTNER_NAME, _PLACE, _NEW_NAME),
            identified_by=("partner_name",),
            follow_up_event="constituent.partnership_formed",
            implies=(Implied("name_change", "new_name", "name"),),
        ),
        LifeEventKind(
            "partnership_ended",
            "Divorce or dissolution",
            subject=frozenset({PERSON}),
            reporters=frozenset({Reporter.AGENCY, Reporter.SELF}),
            facts=(
                _PARTNER_NAME,
                Fact("how", _choice("divorce", "dissolution", "annulment"), True),
                Fact("new_address", _address, False, "Where the person now lives, if they moved"),
                _NEW_NAME,
            ),
            identified_by=("partner_name",),
            follow_up_event="constituent.partnership_ended",
            implies=(
                Implied("address_change", "new_address", "address"),
                Implied("name_change", "new_name", "name"),
            ),
        ),
        LifeEventKind(
            "job_loss",
            "Loss of a job",
            subject=frozenset({PERSON}),
            reporters=frozenset({Reporter.AGENCY, Reporter.SELF}),
            facts=(
                Fact("employer", _text(300), True, "The employer's name"),
                Fact(
                    "reason",
                    _choice("redundancy", "dismissal", "end_of_contract", "resignation", "other"),
                    True,
                ),
                Fact("notice_given_on", _date, False, "When notice was given"),
            ),
            identified_by=("employer",),
            follow_up_event="constituent.employment_ended",
        ),
        LifeEventKind(
            "business_started",
            "Business started",
            subject=frozenset({ORGANISATION}),
            reporters=frozenset({Reporter.AGENCY, Reporter.SELF}),
            facts=(
                Fact("business_identifier", _business_identifier, True, "Its register number"),
                Fact("activity", _text(200), True, "What the business does"),
                Fact("trading_address", _address, False, "Where it trades"),
            ),
            once=True,
            follow_up_event="constituent.business_started",
            implies=(Implied("address_change", "trading_address", "address"),),
        ),
        LifeEventKind(
            "business_ceased",
            "Business closed",
            subject=frozenset({ORGANISATION}),
            reporters=frozenset({Reporter.AGENCY, Reporter.SELF, Reporter.EXECUTOR}),
            facts=(
                Fact(
                    "how",
                    _choice("stopped_trading", "dissolved", "insolvency", "merged"),
                    False,
                ),
            ),
            once=True,
            follow_up_event="constituent.ceased",
            record_changes=(("ceased_on", "occurred_on"),),
            status_becomes="ceased",
        ),
        LifeEventKind(
            "address_change",
            "Move",
            subject=frozenset({PERSON, ORGANISATION}),
            reporters=frozenset({Reporter.AGENCY, Reporter.SELF, Reporter.RELATIVE}),
            facts=(Fact("address", _address, True, "The new address"),),
            # A person may move to the same address twice: the date tells the moves apart.
            identified_by=("occurred_on", "address"),
            record_changes=(("address", "address"),),
        ),
        LifeEventKind(
            "name_change",
            "Change of name",
            subject=frozenset({PERSON, ORGANISATION}),
            reporters=frozenset({Reporter.AGENCY, Reporter.SELF}),
            facts=(Fact("name", _text(300), True, "The new name"),),
            identified_by=("occurred_on", "name"),
            record_changes=(("name", "name"),),
        ),
    )
}


def kind_of(code: str) -> LifeEventKind:
    try:
        return KINDS[code]
    except KeyError:
        raise FactError(
            "invalid_choice", f"Unknown life event; use one of: {', '.join(KINDS)}", "kind"
        ) from None


def validate_facts(kind: LifeEventKind, details: object) -> dict:
    """The facts in their canonical form; FactError names the first wrong one."""
    if not isinstance(details, Mapping):
        raise FactError("invalid_value", "details is an object of facts", "details")
    known = {f.name for f in kind.facts}
    unknown = sorted(set(details) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise FactError(
            "unknown_field",
            f"A {kind.code} has no fact '{unknown[0]}' (its facts: {allowed})",
            f"details.{unknown[0]}",
        )
    facts = {}
    for fact in kind.facts:
        value = details.get(fact.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if fact.required:
                raise FactError(
                    "missing_field",
                    f"A {kind.code} needs {fact.name.replace('_', ' ')}",
                    f"details.{fact.name}",
                )
            continue
        facts[fact.name] = fact.check(value, f"details.{fact.name}")
    return facts


def check_subject(
    kind: LifeEventKind,
    *,
    subject_kind: str,
    occurred_on: date,
    today: date,
    date_of_birth: date | None,
) -> None:
    if subject_kind not in kind.subject:
        who = " or ".join(sorted(kind.subject))
        raise FactError("kind_mismatch", f"A {kind.code} happens to a {who} only", "kind")
    if occurred_on > today:
        raise FactError("date_in_future", "A life event cannot happen in the future", "occurred_on")
    if date_of_birth and kind.is_birth and occurred_on != date_of_birth:
        raise FactError(
            "date_of_birth_differs",
            f"The record's date of birth is {date_of_birth.isoformat()}",
            "occurred_on",
        )
    if date_of_birth and occurred_on < date_of_birth:
        raise FactError("date_before_birth", "The event predates the date of birth", "occurred_on")


def check_reporter(kind: LifeEventKind, relationship: str | None) -> Reporter:
    """The reporter's role (an agency alone, or the notifier's relationship) or refuse."""
    if relationship is None:
        role = Reporter.AGENCY
    else:
        try:
            role = RELATIONSHIPS[relationship]
        except KeyError:
            raise FactError(
                "invalid_choice",
                f"Use one of: {', '.join(RELATIONSHIPS)}",
                "notifier.relationship",
            ) from None
    if role not in kind.reporters:
        allowed = ", ".join(sorted(r.value for r in kind.reporters))
        raise FactError(
            "reporter_not_allowed",
            f"A {kind.code} is reported by: {allowed} (not {role.value})",
            "notifier.relationship",
        )
    return role


def _canonical(value: object) -> object:
    # Two reports name the same partner or address whatever their spacing and case.
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    return value


def identity(kind: LifeEventKind, occurred_on: date, facts: Mapping) -> list:
    """What makes two reports the same event (beyond the subject and kind)."""
    if kind.once:
        return []
    values = {"occurred_on": occurred_on.isoformat(), **facts}
    return [_canonical(values.get(name)) for name in kind.identified_by]


@dataclass(frozen=True)
class FactConflict:
    field: str
    recorded: object
    reported: object


def conflicts(
    *,
    recorded_on: date,
    recorded_facts: Mapping,
    reported_on: date,
    reported_facts: Mapping,
) -> list[FactConflict]:
    """Where a second report of the same event disagrees with the one recorded.

    A fact only one report gives is no conflict (the second notifier may know less);
    a date or a fact both give differently is."""
    found = []
    if recorded_on != reported_on:
        found.append(FactConflict("occurred_on", recorded_on.isoformat(), reported_on.isoformat()))
    for name in sorted(set(recorded_facts) & set(reported_facts)):
        if _canonical(recorded_facts[name]) != _canonical(reported_facts[name]):
            found.append(
                FactConflict(f"details.{name}", recorded_facts[name], reported_facts[name])
            )
    return found


def implied_events(kind: LifeEventKind, facts: Mapping) -> list[tuple[str, dict]]:
    """The (kind, facts) of the life events this report implies."""
    return [
        (implied.kind, {implied.as_fact: facts[implied.from_fact]})
        for implied in kind.implies
        if facts.get(implied.from_fact)
    ]


def record_changes(kind: LifeEventKind, occurred_on: date, facts: Mapping) -> dict:
    """The shared record's fields this event sets, with their new values."""
    values = {"occurred_on": occurred_on, **facts}
    return {target: values[source] for target, source in kind.record_changes}


@dataclass(frozen=True)
class Offerable:
    """A proactive service's declaration, as the rules need it."""

    kinds: frozenset[str]
    subject: frozenset[str] = field(default_factory=lambda: frozenset({PERSON, ORGANISATION}))
    min_age: int | None = None
    max_age: int | None = None


def age_on(date_of_birth: date, day: date) -> int:
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def offer_applies(
    offer: Offerable,
    *,
    kind: str,
    subject_kind: str,
    date_of_birth: date | None,
    occurred_on: date,
) -> bool:
    """Whether a proactive service answers this life event of this person.

    An age limit the record cannot confirm (no date of birth) does not rule the
    person out: the offer's eligibility hint tells them, and the agency decides."""
    if kind not in offer.kinds or subject_kind not in offer.subject:
        return False
    if date_of_birth is None:
        return True
    age = age_on(date_of_birth, occurred_on)
    if offer.min_age is not None and age < offer.min_age:
        return False
    return offer.max_age is None or age <= offer.max_age
