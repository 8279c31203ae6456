"""Forecast reports of one series as of one day: the report itself (``build``), what later
data says about its horizon (``truth``), its chart (``plot``) and its Markdown and HTML
(``render``)."""
