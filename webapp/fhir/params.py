"""The search parameters of the FHIR endpoints: parsed, or refused with a 400 OperationOutcome.

Unknown parameters are ignored, as FHIR servers do by default, unless the
client sends `Prefer: handling=strict`.
"""

import datetime as dt
import re
from dataclasses import dataclass

from flask import request
from flask_babel import lazy_gettext as _l
from stdnum import luhn
from werkzeug.datastructures import MultiDict

from webapp.booking.regional_slots import MAX_PRACTITIONERS, MAX_SEARCH_DAYS
from webapp.dmp.ins import IDNAT_PS_RPPS_PREFIX, IDNAT_PS_SYSTEM
from webapp.fhir.errors import FhirError

SLOT_IDENTIFIER = "schedule.actor:Practitioner.identifier"
INCLUDE_SCHEDULE = "Slot:schedule"
INCLUDE_ACTORS = ("Schedule:actor", "Schedule:actor:Practitioner")
SLOT_PARAMETERS = {SLOT_IDENTIFIER, "start", "status", "_include", "_include:iterate", "_format"}
SCHEDULE_PARAMETERS = {"actor", "_format"}
PRACTITIONER_PARAMETERS = {"identifier", "_format"}
_IDNAT_PS = re.compile(re.escape(IDNAT_PS_RPPS_PREFIX) + r"\d{11}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
_PRACTITIONER_REFERENCE = re.compile(r"(?:Practitioner/)?([1-9]\d{0,8})")
# Bounds far outside any agenda are a mistake; refusing them also keeps date arithmetic in range.
_YEARS = range(1900, 9001)
_LOWER_PREFIXES, _UPPER_PREFIXES = ("ge", "gt"), ("lt", "le")
_INSTANT_STEP = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class SlotQuery:
    rpps: list[str]
    start_from: dt.datetime  # included; naive: a wall-clock time in each practitioner's timezone
    start_before: dt.datetime  # excluded
    include_schedules: bool
    include_practitioners: bool


def _refuse(message, code: str = "invalid"):
    raise FhirError(message, code=code)


def _check_known(args: MultiDict, known: set[str]) -> None:
    strict = "handling=strict" in request.headers.get("Prefer", "").replace(" ", "")
    unknown = sorted(set(args) - known)
    if strict and unknown:
        _refuse(_l("Unknown search parameter: %(name)s.", name=unknown[0][:60]), "not-supported")


def _single(args: MultiDict, name: str) -> str:
    values = args.getlist(name)
    if not values or not values[0].strip():
        _refuse(_l("The search parameter %(name)s is required.", name=name), "required")
    if len(values) > 1:
        _refuse(_l("Give %(name)s once, its values separated by commas.", name=name))
    return values[0]


def practitioner_rpps(args: MultiDict, name: str) -> list[str]:
    """The RPPS numbers of a token parameter `system|value,...` of national
    practitioner identifiers (IdNat_PS: "8" then the 11 digits of the RPPS)."""
    items = _single(args, name).split(",")
    if len(items) > MAX_PRACTITIONERS:
        _refuse(_l("At most %(count)d practitioners at a time.", count=MAX_PRACTITIONERS), "too-costly")
    rpps = []
    for item in items:
        system, separator, value = item.strip().partition("|")
        if not (separator and system == IDNAT_PS_SYSTEM and _IDNAT_PS.fullmatch(value)
                and luhn.is_valid(value[len(IDNAT_PS_RPPS_PREFIX):])):
            _refuse(_l("%(name)s takes national practitioner identifiers: %(system)s|8 followed by the RPPS "
                       "number.", name=name, system=IDNAT_PS_SYSTEM))
        rpps.append(value[len(IDNAT_PS_RPPS_PREFIX):])
    return list(dict.fromkeys(rpps))


def _moment(text: str) -> tuple[dt.datetime, bool]:
    """A FHIR date or dateTime: (its start, whether it is a whole day). A
    time without offset is naive (the practitioner's local time)."""
    text = text.strip().replace(" ", "+")  # an unencoded "+" of an offset arrives as a space
    try:
        if _DATE.fullmatch(text):
            moment, whole_day = dt.datetime.combine(dt.date.fromisoformat(text), dt.time()), True
        elif _DATE_TIME.fullmatch(text):
            moment, whole_day = dt.datetime.fromisoformat(text), False
        else:
            raise ValueError(text)
    except ValueError:
        _refuse(_l("start takes a date (2026-12-07) or a date and time (2026-12-07T08:00:00+01:00) after its "
                   "prefix."))
    if moment.year not in _YEARS:
        _refuse(_l("start is out of range."))
    return moment, whole_day


def _comparable(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def start_bounds(args: MultiDict) -> tuple[dt.datetime, dt.datetime]:
    """`start=ge…` (or gt) and `start=lt…` (or le): [included, excluded) bounds."""
    lower = upper = None
    for value in args.getlist("start"):
        prefix = value[:2]
        if prefix not in _LOWER_PREFIXES + _UPPER_PREFIXES:
            _refuse(_l("Bound start with ge (or gt) and lt (or le), e.g. start=ge2026-12-07&start=lt2026-12-14."))
        moment, whole_day = _moment(value[2:])
        if prefix in ("gt", "le"):  # after the whole day, or just after the instant
            moment += dt.timedelta(days=1) if whole_day else _INSTANT_STEP
        if prefix in _LOWER_PREFIXES:
            if lower is not None:
                _refuse(_l("Give one lower bound of start."))
            lower = moment
        else:
            if upper is not None:
                _refuse(_l("Give one upper bound of start."))
            upper = moment
    if lower is None or upper is None:
        _refuse(_l("Bound start with ge (or gt) and lt (or le), e.g. start=ge2026-12-07&start=lt2026-12-14."),
                "required")
    span = _comparable(upper) - _comparable(lower)
    if span <= dt.timedelta(0):
        _refuse(_l("The upper bound of start must be after its lower bound."))
    if span > dt.timedelta(days=MAX_SEARCH_DAYS):
        _refuse(_l("At most %(days)d days at a time.", days=MAX_SEARCH_DAYS), "too-costly")
    return lower, upper


def slot_query(args: MultiDict) -> SlotQuery:
    _check_known(args, SLOT_PARAMETERS)
    rpps = practitioner_rpps(args, SLOT_IDENTIFIER)
    start_from, start_before = start_bounds(args)
    for value in args.getlist("status"):
        if any(status.strip() != "free" for status in value.split(",")):
            _refuse(_l("Only free slots are published: status=free."), "not-supported")
    includes = set(args.getlist("_include")) | set(args.getlist("_include:iterate"))
    # Schedule:actor follows the included Schedules, so it needs Slot:schedule.
    schedules = INCLUDE_SCHEDULE in includes
    return SlotQuery(rpps, start_from, start_before, include_schedules=schedules,
                     include_practitioners=schedules and bool(includes & set(INCLUDE_ACTORS)))


def schedule_actors(args: MultiDict) -> list[int]:
    """The practitioner ids of `actor=Practitioner/{id}[,...]`."""
    _check_known(args, SCHEDULE_PARAMETERS)
    items = _single(args, "actor").split(",")
    if len(items) > MAX_PRACTITIONERS:
        _refuse(_l("At most %(count)d practitioners at a time.", count=MAX_PRACTITIONERS), "too-costly")
    ids = []
    for item in items:
        match = _PRACTITIONER_REFERENCE.fullmatch(item.strip())
        if match is None:
            _refuse(_l("actor takes practitioner references: Practitioner/{id}."))
        ids.append(int(match.group(1)))
    return list(dict.fromkeys(ids))


def practitioner_identifiers(args: MultiDict) -> list[str]:
    _check_known(args, PRACTITIONER_PARAMETERS)
    return practitioner_rpps(args, "identifier")
