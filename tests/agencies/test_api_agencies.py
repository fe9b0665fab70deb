import uuid

import pytest

from tests import factories as f

URL = "/api/v1/agencies/"


def _detail(agency_id):
    return f"{URL}{agency_id}/"


def _ids(response):
    return {item["id"] for item in response.json()["results"]}


def test_detail_shape(api, world):
    office = world["lam_binh_office"]

    response = api.get(_detail(office.id))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(office.id),
        "code": "lam-binh",
        "name": "UBND xã Lâm Bình",
        "level": "commune",
        "parent": str(world["tq_board"].id),
        "administrative_unit": {"code": 2266, "name": "Xã Lâm Bình", "level": "commune"},
        "address": "Thôn Nà Khà, xã Lâm Bình",
        "phone": "0207 3851 001",
        "opening_hours": "Thứ 2–6, 7:30–17:00",
    }


def test_root_agency_has_no_parent_nor_area(api, world):
    body = api.get(_detail(world["ministry"].id)).json()

    assert body["parent"] is None
    assert body["administrative_unit"] is None


def test_list_shows_only_active_agencies(api, world):
    f.AgencyFactory(code="closed", name="Đã giải thể", is_active=False, parent=world["ministry"])

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert _ids(response) == {
        str(world[key].id)
        for key in ("ministry", "tq_board", "lam_binh_office", "db_board", "muong_phang_office")
    }
    item = next(i for i in body["results"] if i["code"] == "tq-board")
    assert item == {
        "id": str(world["tq_board"].id),
        "code": "tq-board",
        "name": "Sở Nội vụ Tuyên Quang",
        "level": "province",
        "parent": str(world["ministry"].id),
        "administrative_unit": {"code": 8, "name": "Tuyên Quang", "level": "province"},
        "address": "",
        "phone": "",
        "opening_hours": "",
    }


@pytest.mark.parametrize("agency_id", [uuid.uuid4(), "not-a-uuid", "123"])
def test_unknown_or_malformed_id_is_404(api, world, agency_id):
    response = api.get(_detail(agency_id))

    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "client_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("not_found", None)]


def test_inactive_agency_is_404(api, world):
    closed = f.AgencyFactory(code="closed", is_active=False, parent=world["ministry"])
    assert api.get(_detail(closed.id)).status_code == 404


def test_filter_by_parent(api, world):
    response = api.get(URL, {"parent": str(world["tq_board"].id)})
    assert _ids(response) == {str(world["lam_binh_office"].id)}

    response = api.get(URL, {"parent": str(world["ministry"].id)})
    assert _ids(response) == {str(world["tq_board"].id), str(world["db_board"].id)}


def test_filter_by_level(api, world):
    response = api.get(URL, {"level": "province"})
    assert _ids(response) == {str(world["tq_board"].id), str(world["db_board"].id)}


def test_filter_by_administrative_unit(api, world):
    response = api.get(URL, {"administrative_unit": 2266})
    assert _ids(response) == {str(world["lam_binh_office"].id)}

    response = api.get(URL, {"administrative_unit": 8, "level": "province"})
    assert _ids(response) == {str(world["tq_board"].id)}


@pytest.mark.parametrize(
    ("params", "attr", "code"),
    [
        ({"parent": "lam-binh"}, "parent", "invalid"),
        ({"level": "district"}, "level", "invalid_choice"),
        ({"administrative_unit": "lam binh"}, "administrative_unit", "invalid"),
    ],
)
def test_bad_filter_values_answer_400(api, world, params, attr, code):
    response = api.get(URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [(e["attr"], e["code"]) for e in body["errors"]] == [(attr, code)]
    assert body["errors"][0]["detail"]


def test_pages_follow_code_order(api, world):
    first = api.get(URL, {"page_size": 3}).json()
    second = api.get(first["next"]).json()

    codes = [i["code"] for i in first["results"] + second["results"]]
    assert codes == sorted(codes)
    assert len(codes) == 5
    assert second["next"] is None


@pytest.mark.parametrize("page_size", [1, 5, 40])
def test_one_query_whatever_the_page_size(api, world, django_assert_num_queries, page_size):
    for n in range(40):
        f.AgencyFactory(
            code=f"extra-{n:02d}",
            parent=world["tq_board"],
            administrative_unit=world["thuong_lam"],
        )
    with django_assert_num_queries(1):
        response = api.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


def test_detail_is_one_query(api, world, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api.get(_detail(world["lam_binh_office"].id))
    assert response.status_code == 200
