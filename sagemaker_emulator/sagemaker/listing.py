"""What every List* operation shares: StatusEquals, time filters, NameContains, sorting and NextToken paging."""

from __future__ import annotations

from typing import Any

from .errors import validation_error


def status_matches(status: str, params: dict[str, Any]) -> bool:
    return "StatusEquals" not in params or status == params["StatusEquals"]


def modified_matches(modified: float, params: dict[str, Any]) -> bool:
    """LastModifiedTimeAfter/Before, exclusive like CreationTimeAfter/Before."""
    return modified > params.get("LastModifiedTimeAfter", float("-inf")) and modified < params.get(
        "LastModifiedTimeBefore", float("inf")
    )


def page(resources: list[Any], params: dict[str, Any], key: str, default_order: str = "Descending") -> dict[str, Any]:
    """Filter, sort and paginate like the List* operations (NextToken is an offset)."""
    if "NameContains" in params:
        resources = [r for r in resources if params["NameContains"] in r.name]
    if "CreationTimeAfter" in params:
        resources = [r for r in resources if r.creation_time > params["CreationTimeAfter"]]
    if "CreationTimeBefore" in params:
        resources = [r for r in resources if r.creation_time < params["CreationTimeBefore"]]
    sort_by = params.get("SortBy", "CreationTime")
    sort_key = {"Name": lambda r: r.name, "Status": lambda r: getattr(r, "status", "")}.get(
        sort_by, lambda r: r.creation_time
    )
    resources = sorted(resources, key=sort_key, reverse=params.get("SortOrder", default_order) == "Descending")
    try:
        start = int(params.get("NextToken", 0))
    except ValueError:
        raise validation_error(f"Invalid NextToken: {params['NextToken']!r}.") from None
    size = params.get("MaxResults", 10)
    result: dict[str, Any] = {key: [r.summary() for r in resources[start : start + size]]}
    if start + size < len(resources):
        result["NextToken"] = str(start + size)
    return result
