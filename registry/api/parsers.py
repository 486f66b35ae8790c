"""The JSON parser of every API view (``DEFAULT_PARSER_CLASSES``): DRF's, bounded in nesting.

Python's json module raises ``RecursionError`` on a body nested a few thousand levels deep,
which DRF lets through as a 500. It is the caller's mistake: a 400 in the single error shape.
(The body's size is bounded before parsing: DRF reads a JSON body through ``request.body``,
so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies: ``too_large``.)
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> object:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("The JSON body is nested too deeply to read.") from None
