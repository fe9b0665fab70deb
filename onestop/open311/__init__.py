"""Open311 GeoReport v2 over feedback, at `/open311/v2/` (https://wiki.open311.org/GeoReport_v2).

These paths speak the standard, not the project's API: form-encoded requests, JSON or XML
answers (`.json`/`.xml` suffix or `?format=`), and errors as GeoReport's
`[{code, description}]` list instead of the project's error shape.
"""
