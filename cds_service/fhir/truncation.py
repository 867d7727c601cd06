"""The fact that a FHIR query or prefetch key was cut short, and how to say so.

Reading stops before the end of a search for several reasons — the page cap (`fhir_max_pages`),
the entry cap (`fhir_max_entries`), the call's totals (`fhir_max_call_bytes`,
`fhir_max_call_entries`), a further page over the response size cap, a further page
that fails, paging that loops, no usable fhirServer to complete a paginated prefetch, the time
budget. Every one of them leaves the assessment on part of the record, so each becomes a
`Truncation` that travels with the call's data (`GatheredData.truncated`) to the cards and the log
line: cut data are never silently read as "nothing there".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class CutCause(StrEnum):
    PAGE_CAP = "page-cap"
    ENTRY_CAP = "entry-cap"
    BYTE_CAP = "byte-cap"
    PAGE_FAILED = "page-failed"
    PAGING_LOOP = "paging-loop"
    NOT_FETCHABLE = "not-fetchable"
    TIME_BUDGET = "time-budget"
    NO_NEXT_PAGE = "no-next-page"  # the searchset's `total` says more than was sent, no `next`
    CALL_BYTE_CAP = "call-byte-cap"  # the call's responses together reached fhir_max_call_bytes
    CALL_ENTRY_CAP = "call-entry-cap"  # the call's queries together reached fhir_max_call_entries


@dataclass(frozen=True)
class Truncation:
    """One query or prefetch key read only in part (no resource content, no identifiers)."""

    cause: CutCause
    entries_read: int
    server_total: int | None = None  # the searchset's `total`, when the server gave one
    limit: int | None = None  # the cap that was reached (pages or entries)
    reason: str = ""  # why a further page could not be read (a safe FhirError message)
    key: str = ""  # the prefetch key; set by the gathering code

    def for_key(self, key: str) -> Truncation:
        return dataclasses.replace(self, key=key)

    def describe(self) -> str:
        """One line for a card: what was cut, how much was read, and why reading stopped."""
        of_total = f" of {self.server_total}" if self.server_total is not None else ""
        prefix = f"{self.key}: " if self.key else ""
        return (f"{prefix}cut short — only {self.entries_read}{of_total} entries were read "
                f"({self._why()}); what was not read may hold the evidence that matters")

    def _why(self) -> str:
        match self.cause:
            case CutCause.PAGE_CAP:
                return f"stopped at the page limit, {self.limit} per query"
            case CutCause.ENTRY_CAP:
                return f"stopped at the entry limit, {self.limit} per query"
            case CutCause.BYTE_CAP:
                return f"a further page was too large: {self.reason}"
            case CutCause.PAGE_FAILED:
                return f"a further page could not be read: {self.reason}"
            case CutCause.PAGING_LOOP:
                return "the FHIR server's paging looped"
            case CutCause.NOT_FETCHABLE:
                return f"further pages of the prefetched data could not be fetched: {self.reason}"
            case CutCause.TIME_BUDGET:
                return "further pages did not arrive within the time budget"
            case CutCause.CALL_BYTE_CAP:
                return (f"the hook call reached its total size limit, {self.limit} bytes across "
                        "all queries")
            case CutCause.CALL_ENTRY_CAP:
                return (f"the hook call reached its total entry limit, {self.limit} entries "
                        "across all queries")
            case CutCause.NO_NEXT_PAGE:
                return "the FHIR server counted more matches but offered no next page"
        return self.cause.value
