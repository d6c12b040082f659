"""What each app holds on a person, for the subject-access export (GDPR article 15).

The registry (registration) builds the export, but payments and debts live in apps
above it, which it must not import. So each app contributes its sections here, at
start-up (``register_section`` in the app's ``ready``), as it contributes its event
types to the catalogue; the export asks every registered section. A section is a
function from a constituent id to rows: plain JSON values (strings, numbers, lists,
dicts), each row naming the agency it belongs to under ``"agency"`` (its slug) so the
export is audited in every agency whose records it discloses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Rows = list[dict]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    collect: Callable[[str], Rows]
    order: int
    # Columns to show in the readable (HTML) export, in order: (row key, heading).
    columns: tuple[tuple[str, str], ...]


_SECTIONS: dict[str, Section] = {}


def register_section(
    key: str, title: str, *, columns: tuple[tuple[str, str], ...], order: int = 100
) -> Callable[[Callable[[str], Rows]], Callable[[str], Rows]]:
    def decorator(collect: Callable[[str], Rows]) -> Callable[[str], Rows]:
        if key in _SECTIONS and _SECTIONS[key].collect is not collect:
            raise ValueError(f"subject-access section {key!r} is already registered")
        _SECTIONS[key] = Section(key, title, collect, order, columns)
        return collect

    return decorator


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))
