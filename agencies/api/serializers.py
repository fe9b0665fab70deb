"""Output shapes of the reference data. Read-only: nothing here is written through the API."""

from rest_framework import serializers

from agencies.models import AdministrativeUnit, Agency


class AdministrativeUnitRef(serializers.ModelSerializer):
    """`{code, name, level}`: how any response shows an administrative unit."""

    class Meta:
        model = AdministrativeUnit
        fields = ("code", "name", "level")
        read_only_fields = fields


class AdministrativeUnitOutput(serializers.ModelSerializer):
    # The stubs see DRF's own `Field.parent` here; the metaclass makes this a field.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        source="parent.code",
        allow_null=True,
        read_only=True,
        help_text="Code of the province a commune belongs to; null for a province.",
    )

    class Meta:
        model = AdministrativeUnit
        fields = ("code", "name", "level", "parent")
        read_only_fields = fields


class AgencyRef(serializers.ModelSerializer):
    """`{id, code, name}`: how any response shows an agency."""

    class Meta:
        model = Agency
        fields = ("id", "code", "name")
        read_only_fields = fields


class AgencyOutput(serializers.ModelSerializer):
    parent = serializers.UUIDField(  # type: ignore[assignment]
        source="parent_id", allow_null=True, read_only=True, help_text="Id of the parent agency."
    )
    administrative_unit = AdministrativeUnitRef(allow_null=True, read_only=True)

    class Meta:
        model = Agency
        fields = (
            "id",
            "code",
            "name",
            "level",
            "parent",
            "administrative_unit",
            "address",
            "phone",
            "opening_hours",
        )
        read_only_fields = fields
