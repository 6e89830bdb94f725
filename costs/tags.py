"""Cost allocation tag values <-> our service names (Service.cost_tag; blank means the service's name)."""

from __future__ import annotations

from chatops_site.catalog.models import Service

UNTAGGED = "(untagged)"


def tag_of(service: Service) -> str:
    return service.cost_tag or service.name


def service_names() -> dict[str, str]:
    """Tag value -> service name; when two services share a tag, the first by name has it."""
    names: dict[str, str] = {}
    for name, cost_tag in Service.objects.order_by("name").values_list("name", "cost_tag"):
        names.setdefault(cost_tag or name, name)
    return names


def name_of(tag: str, names: dict[str, str]) -> str:
    """What reports call a tag's spend: our service, the untagged bucket, or a tag the catalog lacks."""
    if tag in names:
        return names[tag]
    return UNTAGGED if tag == "" else f"{tag} (not in the catalog)"
