"""A stand-in for impact.ImpactClient at our own boundary, for tests above the service module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from requests_app import impact


class FakeImpact:
    """Serves wire-shaped payloads page by page; can fail on a chosen page or call."""

    def __init__(
        self,
        payloads: list[dict[str, Any]] | None = None,
        *,
        page_size: int = 3,
        fail_on_page: int | None = None,
        rate_limit: impact.RateLimit | None = None,
        approve_error: impact.ImpactError | None = None,
        over_network: bool = False,
    ) -> None:
        self.payloads = {p["Id"]: p for p in payloads or []}
        self.page_size = page_size
        self.fail_on_page = fail_on_page
        self.last_rate_limit = rate_limit
        self.approve_error = approve_error
        # Like a real HTTP client, lets the sync read the next page ahead in a thread.
        self.over_network = over_network
        self.calls: list[tuple[str, Any]] = []

    def iter_pages(
        self, *, state: str | None = None, **filters: Any
    ) -> Iterator[impact.RequestPage]:
        self.calls.append(("list", {"state": state, **filters}))
        items = [p for p in self.payloads.values() if state is None or p["State"] == state]
        chunks = [items[i : i + self.page_size] for i in range(0, len(items), self.page_size)]
        for number, chunk in enumerate(chunks or [[]], start=1):
            if number == self.fail_on_page:
                raise impact.Unavailable("impact.com is having trouble (503).", status=503)
            yield impact.RequestPage(
                records=tuple(chunk),
                page=number,
                num_pages=len(chunks) or 1,
                page_size=self.page_size,
                total=len(items),
                next_uri="",
                rate_limit=self.last_rate_limit,
            )

    def get_request(
        self,
        request_id: str | int,
        *,
        retries: int | None = None,
        deadline: impact.Deadline | None = None,
    ) -> impact.TrackingValueRequest:
        self.calls.append(("get", str(request_id)))
        payload = self.payloads.get(str(request_id))
        if payload is None:
            raise impact.NotFound("Not found", status=404)
        return impact.TrackingValueRequest.parse(payload)

    # The account: a company and no tracking values unless a test sets `tracking_values`.
    company = {"CompanyName": "Fake Outdoor Co."}
    tracking_values: dict[str, list[dict[str, Any]]] = {}

    def company_information(self, **_: Any) -> impact.CompanyInformation:
        return impact.CompanyInformation.parse(self.company)

    def list_tracking_values(self, kind: str) -> Iterator[impact.TrackingValue]:
        for raw in self.tracking_values.get(kind, []):
            value = impact.TrackingValue.parse(kind, raw)
            if value is not None:
                yield value

    def approve(
        self, request_id: str | int, approval: impact.Approval, **_: Any
    ) -> impact.WriteResult:
        self.calls.append(("approve", (str(request_id), approval.form_data())))
        return self._decide(str(request_id), "APPROVED")

    def reject(self, request_id: str | int, **_: Any) -> impact.WriteResult:
        self.calls.append(("reject", str(request_id)))
        return self._decide(str(request_id), "DECLINED")

    def _decide(self, request_id: str, state: str) -> impact.WriteResult:
        if self.approve_error is not None:
            raise self.approve_error
        payload = self.payloads[request_id]
        if payload["State"] != "NEW":
            raise impact.Rejected("Request is no longer NEW", status=400)
        payload["State"] = state
        return impact.WriteResult(uri=payload.get("Uri", ""))
