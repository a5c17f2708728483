from functools import partial
from typing import Any, cast

from django.core.paginator import Paginator as DjangoPaginator
from rest_framework.pagination import PageNumberPagination


class CountedPaginator(DjangoPaginator):
    """A paginator told how many rows there are (a report counts them with its totals, in
    the same snapshot): no count query of its own."""

    def __init__(self, object_list: Any, per_page: Any, *, count: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count  # the cached property's value


class Pagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_counted(self, queryset: Any, request: Any, view: Any, count: int) -> Any:
        """A page of `queryset`, which holds `count` rows."""
        self.django_paginator_class = cast(Any, partial(CountedPaginator, count=count))
        try:
            return self.paginate_queryset(queryset, request, view)
        finally:
            del self.django_paginator_class
