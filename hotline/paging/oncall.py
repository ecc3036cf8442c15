"""Who is on call at a given instant: rotations, overrides, iCalendar export.

Pure: every function takes the rotation and the instant(s) it needs and
returns values. Nothing here reads a clock, a file or a database.

Time model
----------
Shifts follow the *wall clock* of the rotation's time zone. Hand-off ``k``
happens at the local wall time ``start_date@handoff + k * shift_length``, so a
daily 09:00 hand-off stays at 09:00 local across daylight-saving changes (the
shift that spans a change is an hour shorter or longer in real time), and a
12 h rotation handing off at 09:00 always hands off at 09:00 and 21:00.

**The DST rule.** A wall time is turned into an instant by taking *the first
instant at which the local clock reads that time or later*:

* a wall time that happens twice (clocks go back, e.g. 01:30 on the
  fall-back day in New York) means its *first* occurrence;
* a wall time that does not exist (clocks jump forward, e.g. 02:30 on the
  spring-forward day in New York, or in Madrid) means the instant the clocks
  jump, i.e. 03:00 local (07:00 UTC in New York, 01:00 UTC in Madrid).

The same rule applies to override bounds given as local (naive) datetimes.
Hand-off instants never go backwards under this rule. If two consecutive
hand-offs fall into the same gap (only possible when a shift is shorter than
the gap, i.e. under an hour), the shift between them is empty and is skipped:
nobody is on call for zero seconds.

``start_date`` is the anchor of the cycle (the first advocate's shift starts
at ``start_date@handoff``), not an activation date: instants before it follow
the same cycle backwards, so the resolution is total. Whether a rotation is in
force yet is for the caller to decide.

Overrides replace whoever would be on call during ``[start, end)``; when
overrides overlap, the one listed later wins. A shift interrupted by an
override is reported as separate pieces, so the pieces tile the timeline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.units import parse_duration

__all__ = [
    "MAX_SHIFTS",
    "OnCall",
    "Override",
    "PagingConfigError",
    "Rotation",
    "RotationError",
    "check_advocate_name",
    "local_instant",
    "parse_time_of_day",
    "parse_zone",
    "rotation_from_dict",
    "shifts_between",
    "to_icalendar",
    "who_is_on_call",
]

MAX_SHIFTS = 100_000
"""Most shifts one ``shifts_between`` call lists (a year of 5-minute shifts)."""

_MIN_SHIFT = timedelta(minutes=1)


class PagingConfigError(ValueError):
    """The paging configuration is invalid."""

    exit_code = 2
    http_status = 400

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        self.public_message = f"{key}: {problem}"
        super().__init__(self.public_message)


class RotationError(PagingConfigError):
    """The on-call rotation is invalid."""


# --------------------------------------------------------------------------- values


def check_advocate_name(name: object, key: str, error: type[PagingConfigError] = RotationError) -> str:
    """``name`` if it can name an advocate: printable, trimmed, 1-64 characters, no ``:`` or ``,``.

    ``:`` separates the parts of an idempotency key and ``,`` separates names
    on the command line, so neither may appear in a name.
    """
    if not isinstance(name, str) or not name:
        raise error(key, f"an advocate name must be a non-empty string, got {name!r}")
    if name != name.strip() or not name.isprintable() or len(name) > 64 or ":" in name or "," in name:
        raise error(key, f"not a usable advocate name: {name!r} (printable, no ':' or ',', at most 64)")
    return name


def _require_aware(value: datetime, key: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise RotationError(key, f"needs a time zone (or use local_instant): {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Override:
    """``advocate`` covers ``[start, end)``, whatever the rotation says. Stored in UTC."""

    advocate: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        check_advocate_name(self.advocate, "override.advocate")
        object.__setattr__(self, "start", _require_aware(self.start, "override.start"))
        object.__setattr__(self, "end", _require_aware(self.end, "override.end"))
        if self.end <= self.start:
            raise RotationError("override.end", f"must be after start ({self.start.isoformat()})")

    @property
    def digest(self) -> str:
        """A short stable identity for UIDs: same advocate and period, same digest."""
        text = f"{self.advocate}|{self.start.isoformat()}|{self.end.isoformat()}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Rotation:
    """Advocates taking turns, handing off at ``handoff`` local time every ``shift_length``."""

    advocates: tuple[str, ...]
    handoff: time
    shift_length: timedelta
    tz: ZoneInfo
    start_date: date
    overrides: tuple[Override, ...] = ()
    name: str = "primary"

    def __post_init__(self) -> None:
        if not self.advocates:
            raise RotationError("advocates", "a rotation needs at least one advocate")
        for i, advocate in enumerate(self.advocates):
            check_advocate_name(advocate, f"advocates[{i}]")
        if self.handoff.tzinfo is not None:
            raise RotationError("handoff", "is a local time of day; the zone is given by 'timezone'")
        if self.shift_length < _MIN_SHIFT:
            raise RotationError("shift", f"must be at least 1 minute, got {self.shift_length}")
        if self.shift_length % timedelta(seconds=1):
            raise RotationError("shift", f"must be a whole number of seconds, got {self.shift_length}")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", self.name):
            raise RotationError("name", f"letters, digits, '-' and '_' only (1-40), got {self.name!r}")

    @property
    def anchor(self) -> datetime:
        """The local wall time of hand-off 0 (naive)."""
        return datetime.combine(self.start_date, self.handoff)


@dataclass(frozen=True)
class OnCall:
    """Who is on call, and the piece of the timeline this answer holds for.

    ``source`` names what put them there: ``shift:<k>`` (the k-th shift of
    the cycle, counted from the start date, negative before it) or
    ``override:<digest>``. Stable, so it can build calendar UIDs.
    """

    advocate: str
    shift_start: datetime
    shift_end: datetime
    via_override: bool
    source: str


# --------------------------------------------------------------------------- time


def local_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock in ``tz`` reads ``wall`` or later.

    A wall time that happens twice gives the first occurrence; one that does
    not exist (skipped by a DST jump) gives the instant of the jump.
    """
    if wall.tzinfo is not None:
        raise ValueError("local_instant takes a naive wall-clock datetime")
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _reading(first, tz) == wall:
        return first  # exists; for a repeated wall time fold=0 is the earlier instant
    # In a gap: the clock reads below `wall` at `lo` and above it at `hi`.
    lo = int(wall.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    hi = int(first.timestamp()) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _reading(datetime.fromtimestamp(mid, UTC), tz) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _reading(instant: datetime, tz: ZoneInfo) -> datetime:
    """What a wall clock in ``tz`` reads at ``instant`` (naive)."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _handoff(rotation: Rotation, k: int) -> datetime:
    return local_instant(rotation.anchor + k * rotation.shift_length, rotation.tz)


def _shift_index(rotation: Rotation, at: datetime) -> int:
    """The k with handoff(k) <= at < handoff(k + 1)."""
    k = (_reading(at, rotation.tz) - rotation.anchor) // rotation.shift_length
    while _handoff(rotation, k) > at:
        k -= 1
    while _handoff(rotation, k + 1) <= at:
        k += 1
    return k


# --------------------------------------------------------------------------- resolution


def _piece(lo: datetime, hi: datetime, above: Iterable[Override], at: datetime) -> tuple[datetime, datetime]:
    """The part of ``[lo, hi)`` around ``at`` that no interval in ``above`` covers.

    ``at`` is known not to be covered by any of ``above``.
    """
    for other in above:
        if other.end <= at:
            lo = max(lo, other.end)
        elif other.start > at:
            hi = min(hi, other.start)
    return lo, hi


def who_is_on_call(rotation: Rotation, at: datetime) -> OnCall:
    """Who is on call at ``at`` (an aware datetime), and for which piece of time."""
    at = _require_aware(at, "at")
    overrides = rotation.overrides
    for i in range(len(overrides) - 1, -1, -1):
        o = overrides[i]
        if o.start <= at < o.end:
            lo, hi = _piece(o.start, o.end, overrides[i + 1 :], at)
            return OnCall(o.advocate, lo, hi, True, f"override:{o.digest}")
    k = _shift_index(rotation, at)
    lo, hi = _piece(_handoff(rotation, k), _handoff(rotation, k + 1), overrides, at)
    advocate = rotation.advocates[k % len(rotation.advocates)]
    return OnCall(advocate, lo, hi, False, f"shift:{k}")


def shifts_between(rotation: Rotation, start: datetime, end: datetime) -> list[OnCall]:
    """The pieces of the timeline that meet ``[start, end)``, in order, not clipped.

    They tile: each piece ends where the next begins; the first begins at or
    before ``start`` and the last ends at or after ``end``.
    """
    start = _require_aware(start, "start")
    end = _require_aware(end, "end")
    if end <= start:
        return []
    pieces: list[OnCall] = []
    t = start
    while t < end:
        if len(pieces) >= MAX_SHIFTS:
            raise RotationError("end", f"more than {MAX_SHIFTS} shifts in the period; ask for less")
        piece = who_is_on_call(rotation, t)
        pieces.append(piece)
        t = piece.shift_end
    return pieces


# --------------------------------------------------------------------------- iCalendar


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines of at most 75 octets, continued with CRLF + space, never splitting a character."""
    out: list[str] = []
    current = ""
    size = 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def to_icalendar(
    rotation: Rotation,
    start: datetime,
    end: datetime,
    *,
    advocate: str | None = None,
    stamp: datetime | None = None,
) -> str:
    """The shifts meeting ``[start, end)`` as an RFC 5545 calendar (UTC times, CRLF, folded).

    ``advocate`` keeps only that person's shifts. ``stamp`` is the DTSTAMP of
    every event (the export time, passed in by the caller; ``start`` if
    omitted, which keeps the output a function of its arguments). UIDs are
    stable: the same shift of the same rotation always gets the same UID.
    """
    stamp_text = _ics_time(_require_aware(stamp if stamp is not None else start, "stamp"))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Hotline//On-call rotation//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(f'On call: {rotation.name}')}",
    ]
    for shift in shifts_between(rotation, start, end):
        if advocate is not None and shift.advocate != advocate:
            continue
        source = shift.source.replace(":", "-")
        summary = f"On call: {shift.advocate}" + (" (override)" if shift.via_override else "")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{rotation.name}.{source}.{_ics_time(shift.shift_start)}@hotline",
            f"DTSTAMP:{stamp_text}",
            f"DTSTART:{_ics_time(shift.shift_start)}",
            f"DTEND:{_ics_time(shift.shift_end)}",
            f"SUMMARY:{_ics_text(summary)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


# --------------------------------------------------------------------------- parsing


def parse_zone(value: object, key: str, error: type[PagingConfigError] = RotationError) -> ZoneInfo:
    """The IANA zone named ``value`` (``Europe/Madrid``)."""
    if not isinstance(value, str) or not value.strip():
        raise error(key, f"an IANA time zone name such as 'Europe/Madrid', got {value!r}")
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        problem = f"unknown time zone {value!r} (use an IANA name such as 'America/New_York')"
        raise error(key, problem) from exc


def parse_time_of_day(value: object, key: str, error: type[PagingConfigError] = RotationError) -> time:
    """A local time of day from ``"09:00"``, ``"21:30:00"`` or a TOML local time."""
    if isinstance(value, time):
        parsed = value
    elif isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
        try:
            parsed = time.fromisoformat(value.strip().zfill(5 if value.strip().count(":") == 1 else 8))
        except ValueError as exc:
            raise error(key, f"not a time of day: {value!r} (use HH:MM, e.g. 09:00)") from exc
    else:
        raise error(key, f"not a time of day: {value!r} (use HH:MM, e.g. 09:00)")
    if parsed.tzinfo is not None:
        raise error(key, "a local time of day without an offset; the zone is given separately")
    return parsed


def _parse_duration_key(value: object, key: str, error: type[PagingConfigError]) -> timedelta:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise error(key, f"not a duration: {value!r} (use e.g. 12h, 1d, 7d)")
    try:
        return timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise error(key, str(exc)) from exc


def _parse_date(value: object, key: str) -> date:
    if isinstance(value, datetime):
        raise RotationError(key, f"a date without a time, got {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RotationError(key, f"not a date: {value!r} (use YYYY-MM-DD)")


def _parse_datetime(value: object, key: str, tz: ZoneInfo) -> datetime:
    """An instant from an offset datetime, or a local one read in ``tz`` with the DST rule."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise RotationError(key, f"not a date and time: {value!r} (use YYYY-MM-DDTHH:MM)") from exc
    if not isinstance(value, datetime):
        raise RotationError(key, f"not a date and time: {value!r} (use YYYY-MM-DDTHH:MM)")
    if value.tzinfo is None:
        return local_instant(value, tz)
    return value.astimezone(UTC)


def _check_keys(
    data: Mapping[str, object], allowed: set[str], where: str, error: type[PagingConfigError]
) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise error(f"{where}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _as_mapping(value: object, key: str, error: type[PagingConfigError]) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise error(key, f"must be a table, got {type(value).__name__}")
    return value


def _as_list(value: object, key: str, error: type[PagingConfigError]) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise error(key, f"must be a list, got {type(value).__name__}")
    return value


def _parse_override(value: object, key: str, tz: ZoneInfo) -> Override:
    data = _as_mapping(value, key, RotationError)
    _check_keys(data, {"advocate", "start", "end"}, key, RotationError)
    for required in ("advocate", "start", "end"):
        if required not in data:
            raise RotationError(f"{key}.{required}", "is required")
    advocate = check_advocate_name(data["advocate"], f"{key}.advocate")
    start = _parse_datetime(data["start"], f"{key}.start", tz)
    end = _parse_datetime(data["end"], f"{key}.end", tz)
    if end <= start:
        raise RotationError(f"{key}.end", f"must be after {key}.start")
    return Override(advocate, start, end)


_ROTATION_KEYS = {"name", "advocates", "handoff", "shift", "timezone", "start", "overrides"}


def rotation_from_dict(data: object, *, where: str = "rotation") -> Rotation:
    """A rotation from its TOML table, raising RotationError naming the bad key.

    ``advocates`` (list, required), ``handoff`` ("09:00"), ``shift`` ("1d",
    "12h", "7d"), ``timezone`` (IANA name), ``start`` (YYYY-MM-DD), optional
    ``name`` and ``overrides`` (a list of tables with ``advocate``, ``start``,
    ``end``; a datetime without an offset is local to ``timezone``).
    """
    table = _as_mapping(data, where, RotationError)
    _check_keys(table, _ROTATION_KEYS, where, RotationError)
    for required in ("advocates", "handoff", "shift", "timezone", "start"):
        if required not in table:
            raise RotationError(f"{where}.{required}", "is required")
    advocates = _as_list(table["advocates"], f"{where}.advocates", RotationError)
    if not advocates:
        raise RotationError(f"{where}.advocates", "a rotation needs at least one advocate")
    names = tuple(check_advocate_name(a, f"{where}.advocates[{i}]") for i, a in enumerate(advocates))
    tz = parse_zone(table["timezone"], f"{where}.timezone")
    handoff = parse_time_of_day(table["handoff"], f"{where}.handoff")
    shift = _parse_duration_key(table["shift"], f"{where}.shift", RotationError)
    start = _parse_date(table["start"], f"{where}.start")
    raw_overrides = _as_list(table.get("overrides", []), f"{where}.overrides", RotationError)
    overrides = tuple(_parse_override(o, f"{where}.overrides[{i}]", tz) for i, o in enumerate(raw_overrides))
    name = table.get("name", "primary")
    if not isinstance(name, str):
        raise RotationError(f"{where}.name", f"must be a string, got {name!r}")
    try:
        return Rotation(names, handoff, shift, tz, start, overrides, name)
    except RotationError as exc:  # a value check in Rotation itself: name the key in this table
        raise RotationError(f"{where}.{exc.key}", exc.problem) from exc
