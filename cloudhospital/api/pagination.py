"""The one way every list is paginated: `{"count", "next", "previous", "results"}`.

`?page=` (1, 2 … or `last`) and `?page_size=` (1 to 100, default 20). A page size above the
cap, or a page or page size that is not a positive whole number, is refused with a 400
naming the parameter — never silently capped or replaced by the default, so `next` always
means what it says. A page past the end is a 404 (`not_found`), in the error shape.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


def _positive_int(raw: str, *, name: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or value < 1 or str(raw).strip() != str(value):
        raise ValidationError({name: [f"{name} must be a whole number from 1 up; got {str(raw)[:20]!r}."]},
                              code="invalid")
    return value


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = _positive_int(raw, name=self.page_size_query_param)
        if size > self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"At most {self.max_page_size} per page; got {size}."]}, code="invalid")
        return size

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return raw
        return _positive_int(raw, name=self.page_query_param)


def query_without_paging(request) -> dict:
    """The query string as a dict, without `page` and `page_size` (they are the paginator's),
    for a view whose own query serializer refuses unknown parameters."""
    return {key: value for key, value in request.query_params.dict().items()
            if key not in (Pagination.page_query_param, Pagination.page_size_query_param)}
