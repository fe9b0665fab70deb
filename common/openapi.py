from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema


class AutoSchema(StandardizedAutoSchema):
    """Adds the project's 409 conflict response to views that declare `conflict_codes`."""
