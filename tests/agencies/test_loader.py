from io import StringIO

import pytest
from django.core.management import call_command

from agencies.actions import load_administrative_units
from agencies.models import AdministrativeUnit
from common.text import fold

pytestmark = pytest.mark.django_db

PROVINCE = AdministrativeUnit.Level.PROVINCE
COMMUNE = AdministrativeUnit.Level.COMMUNE


def test_loads_every_province_and_commune_in_a_few_queries(django_assert_max_num_queries):
    # Bulk inserts in batches; SQLite's 999-parameter cap makes about twenty of them.
    with django_assert_max_num_queries(40):
        counts = load_administrative_units()

    assert counts == {"created": 34 + 3321, "updated": 0, "unchanged": 0}
    assert AdministrativeUnit.objects.filter(level=PROVINCE).count() == 34
    assert AdministrativeUnit.objects.filter(level=COMMUNE).count() == 3321
    assert not AdministrativeUnit.objects.filter(level=COMMUNE, parent=None).exists()
    assert not AdministrativeUnit.objects.filter(level=PROVINCE).exclude(parent=None).exists()


def test_second_run_changes_nothing(django_assert_max_num_queries):
    load_administrative_units()
    before = list(AdministrativeUnit.objects.order_by("id").values())

    with django_assert_max_num_queries(6):
        counts = load_administrative_units()

    assert counts == {"created": 0, "updated": 0, "unchanged": 34 + 3321}
    assert list(AdministrativeUnit.objects.order_by("id").values()) == before


def test_names_are_whitespace_normalised_and_folded_for_search():
    load_administrative_units()

    assert not AdministrativeUnit.objects.filter(name__contains="  ").exists()
    bac_dong_quan = AdministrativeUnit.objects.get(level=COMMUNE, name="Xã Bắc Đông Quan")
    assert bac_dong_quan.search_name == "xa bac dong quan"
    for name, search_name in AdministrativeUnit.objects.values_list("name", "search_name"):
        assert name == name.strip()
        assert search_name == fold(name)
        assert not set(search_name) & set("ăâđêôơưáàảãạéèẻẽẹíìỉĩịóòỏõọúùủũụýỳỷỹỵ"), name


def test_lam_binh_belongs_to_tuyen_quang():
    load_administrative_units()

    lam_binh = AdministrativeUnit.objects.select_related("parent").get(level=COMMUNE, code=2266)
    assert lam_binh.name == "Xã Lâm Bình"
    assert lam_binh.division_type == "xã"
    assert lam_binh.search_name == "xa lam binh"
    assert (lam_binh.parent.level, lam_binh.parent.code) == (PROVINCE, 8)
    assert lam_binh.parent.name == "Tuyên Quang"
    assert lam_binh.parent.division_type == "tỉnh"


def test_overlapping_codes_are_distinct_units():
    load_administrative_units()

    for code in (4, 8, 25, 91):
        levels = set(AdministrativeUnit.objects.filter(code=code).values_list("level", flat=True))
        assert levels == {PROVINCE, COMMUNE}


def test_existing_units_are_updated_in_place(world):
    # The demo world has Tuyên Quang and Lâm Bình without a division type; dossiers may
    # already point at them, so they must keep their ids.
    lam_binh_id = world["lam_binh"].id
    AdministrativeUnit.objects.filter(id=lam_binh_id).update(name="Xã  Lâm Bình cũ")

    counts = load_administrative_units()

    lam_binh = AdministrativeUnit.objects.get(level=COMMUNE, code=2266)
    assert lam_binh.id == lam_binh_id
    assert lam_binh.name == "Xã Lâm Bình"
    assert lam_binh.division_type == "xã"
    assert counts["updated"] >= 3
    assert counts["created"] + counts["updated"] + counts["unchanged"] == 34 + 3321
    # Units the package does not know (demo-only codes) are kept, never deleted.
    assert AdministrativeUnit.objects.filter(id=lam_binh_id).exists()


def test_command_reports_counts():
    out = StringIO()
    call_command("load_administrative_units", stdout=out)
    assert "3355 created, 0 updated, 0 unchanged" in out.getvalue()

    out = StringIO()
    call_command("load_administrative_units", stdout=out)
    assert "0 created, 0 updated, 3355 unchanged" in out.getvalue()
