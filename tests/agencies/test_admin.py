from django.contrib import admin
from django.test import RequestFactory

from agencies.admin import AdministrativeUnitAdmin, AgencyAdmin
from agencies.models import AdministrativeUnit, Agency


def _request(user):
    request = RequestFactory().post("/admin/")
    request.user = user
    return request


def _agency_form(model_admin, request, agency, **changes):
    data = {
        "code": agency.code,
        "name": agency.name,
        "level": agency.level,
        "parent": agency.parent_id or "",
        "administrative_unit": agency.administrative_unit_id or "",
        "address": agency.address,
        "phone": agency.phone,
        "opening_hours": agency.opening_hours,
        "is_active": "on" if agency.is_active else "",
    }
    data.update(changes)
    form_class = model_admin.get_form(request, agency, change=True)
    return form_class(data, instance=agency)


def test_changing_the_parent_in_the_admin_moves_the_branch(world, superuser):
    model_admin = AgencyAdmin(Agency, admin.site)
    request = _request(superuser)
    tq_board = Agency.objects.get(pk=world["tq_board"].pk)
    form = _agency_form(
        model_admin, request, tq_board, parent=world["db_board"].pk, phone="0207 3822 222"
    )

    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)

    tq_board.refresh_from_db()
    office = Agency.objects.get(pk=world["lam_binh_office"].pk)
    assert tq_board.parent_id == world["db_board"].pk
    assert tq_board.phone == "0207 3822 222"
    assert office.path == f"{world['db_board'].path}{tq_board.id.hex}/{office.id.hex}/"


def test_admin_refuses_a_cycle(world, superuser):
    model_admin = AgencyAdmin(Agency, admin.site)
    request = _request(superuser)
    tq_board = Agency.objects.get(pk=world["tq_board"].pk)
    form = _agency_form(model_admin, request, tq_board, parent=world["lam_binh_office"].pk)

    assert not form.is_valid()
    assert "parent" in form.errors


def test_saving_without_a_parent_change_keeps_the_path(world, superuser):
    model_admin = AgencyAdmin(Agency, admin.site)
    request = _request(superuser)
    office = Agency.objects.get(pk=world["lam_binh_office"].pk)
    form = _agency_form(model_admin, request, office, name="UBND xã Lâm Bình (mới)")

    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)

    office.refresh_from_db()
    assert office.name == "UBND xã Lâm Bình (mới)"
    assert office.path == world["lam_binh_office"].path


def test_administrative_units_are_read_only_and_searchable_without_diacritics(world, superuser):
    model_admin = AdministrativeUnitAdmin(AdministrativeUnit, admin.site)
    request = _request(superuser)

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, world["lam_binh"])
    assert not model_admin.has_delete_permission(request, world["lam_binh"])
    assert model_admin.has_view_permission(request, world["lam_binh"])

    for term in ("lam binh", "Lâm Bình", "2266"):
        found, _ = model_admin.get_search_results(request, AdministrativeUnit.objects.all(), term)
        assert list(found) == [world["lam_binh"]], term
