"""The API's JSON parser: DRF's, refusing JSON nested deeper than ``MAX_JSON_DEPTH`` with a 400
(Python's parser would raise ``RecursionError``, a 500) before parsing."""

import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from tenants.jsonlimits import MAX_JSON_DEPTH, json_too_deep


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        if json_too_deep(raw):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        return super().parse(io.BytesIO(raw), media_type=media_type, parser_context=parser_context)
