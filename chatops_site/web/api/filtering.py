"""The dashboard's FilterSets as API query parameters."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, passing the FilterSet's messages on as they were written.

    django-filter hands its errors to DRF as a Django ValidationError, which DRF %-formats once more:
    a message quoting what was typed (`since=100%`) would then break the answer with a 500.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise ValidationError({name: list(messages) for name, messages in filterset.errors.items()})
        return filterset.qs
