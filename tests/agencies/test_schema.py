from drf_spectacular.generators import SchemaGenerator

from agencies.api.urls import urlpatterns
from tests.spec import parameters as spec_parameters


def _operations():
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    return schema, {path: item["get"] for path, item in schema["paths"].items()}


def test_every_operation_is_reference_data_with_a_summary():
    _, operations = _operations()

    assert set(operations) == {
        "/administrative-units/",
        "/agencies/",
        "/agencies/{agency_id}/",
    }
    for operation in operations.values():
        assert operation["tags"] == ["reference data"]
        assert operation["summary"]
        assert operation.get("security") != []  # anonymous access is documented per view
        assert any(s == {} for s in operation.get("security", [{}]))


def test_query_parameters_are_documented():
    spec, operations = _operations()

    def params(path):
        return spec_parameters(spec, operations[path])

    units = params("/administrative-units/")
    assert {"level", "parent", "search", "cursor", "page_size"} <= set(units)
    assert units["level"]["schema"]["enum"] == ["commune", "province"]
    assert units["parent"]["schema"]["type"] == "integer"
    assert all(units[name].get("description") for name in ("level", "parent", "search"))

    agencies = params("/agencies/")
    assert {"parent", "level", "administrative_unit", "cursor", "page_size"} <= set(agencies)
    assert agencies["parent"]["schema"]["format"] == "uuid"

    detail = params("/agencies/{agency_id}/")
    assert detail["agency_id"]["schema"] == {"type": "string", "format": "uuid"}


def test_serializer_components_have_unique_names():
    schema, _ = _operations()
    components = schema["components"]["schemas"]
    assert {"AdministrativeUnitOutput", "AgencyOutput", "AdministrativeUnitRef"} <= set(components)
    assert components["AdministrativeUnitOutput"]["properties"]["parent"]["nullable"] is True
