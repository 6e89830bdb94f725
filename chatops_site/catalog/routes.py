"""Who hears what: the channels a piece of news goes to, decided in one place for every sender."""

from __future__ import annotations

from django.conf import settings

from chatops_site.catalog.models import ChannelRoute, Service


def channels_for(
    event: str, *, repository: str = "", service: Service | None = None, fallback: bool = True
) -> list[str]:
    """The channels routed to hear `event` about this repository or service, in route order.

    A route naming a repository or a service matches only that one; a route naming neither matches
    all. With no matching route the news goes to CHATOPS_DEFAULT_CHANNEL (unless `fallback` is off, for
    senders with a channel of their own), or nowhere when it is blank.
    """
    repository = repository.lower()
    if service is None and repository:
        service = Service.objects.filter(repository__iexact=repository).first()
    channels: list[str] = []
    for route in ChannelRoute.objects.all():
        if event not in route.events:
            continue
        if route.repository and route.repository.lower() != repository:
            continue
        if route.service_id and (service is None or route.service_id != service.pk):
            continue
        if route.channel not in channels:
            channels.append(route.channel)
    if not channels and fallback and settings.CHATOPS_DEFAULT_CHANNEL:
        channels.append(settings.CHATOPS_DEFAULT_CHANNEL)
    return channels
