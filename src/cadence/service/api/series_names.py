"""Series names in URL paths, ``/`` included (family members: ``attacks-by-country/Iraq``).

A plain ``{name}`` path parameter stops at the first ``/``, so ``GET
/v1/series/attacks-by-country/Iraq/forecast`` would not reach the forecast route. Routes
declare ``SERIES`` (``/series/{name:series}``) instead: the ``series`` convertor takes
any characters, slashes included, except that the name never swallows a trailing
``/<sub-resource>`` (``SUB_RESOURCES``), so ``/v1/series/a/b`` is series ``a/b`` and
``/v1/series/a/b/forecast`` the forecast of ``a/b``. The OpenAPI document and the
metrics label keep showing ``{name}``. Clients may also send the slash encoded
(``%2F``): servers decode the path before routing.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["SERIES", "SUB_RESOURCES", "SeriesNameConvertor"]

# every path segment served under /v1/series/{name}/...; a route with a new one must be
# listed here (tests/service/test_api_series_names.py checks the app against this list)
SUB_RESOURCES = (
    "accuracy",
    "backtest",
    "effects",
    "events",
    "forecast",
    "observations",
    "scenarios",
)


class SeriesNameConvertor(Convertor[str]):
    """A series name: one or more characters, ``/`` allowed, not ending the path in
    ``/<sub-resource>``."""

    regex = r"(?:(?!/(?:" + "|".join(SUB_RESOURCES) + r")$)[^\n])+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("series", SeriesNameConvertor())

SERIES = "/series/{name:series}"
