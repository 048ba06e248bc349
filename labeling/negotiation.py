"""Content negotiation of the API with a shortcut for the requests almost every client sends.

DRF parses the Accept header and matches it against each renderer on every request: about a
twentieth of the web's CPU per request of the labeling loop (issue 20, bench/README.md).
A request that accepts anything (no Accept header, or ``*/*``), or exactly the first
renderer's type, gets the first renderer, as DRF's negotiation would give it; any other
request is negotiated by DRF.
"""

from rest_framework.negotiation import DefaultContentNegotiation

_ACCEPTS_ANYTHING = frozenset({"", "*/*"})


class FirstRendererNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and format_suffix is None and self.settings.URL_FORMAT_OVERRIDE is None:
            accept = request.META.get("HTTP_ACCEPT", "").strip()
            first = renderers[0]
            if accept in _ACCEPTS_ANYTHING or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
