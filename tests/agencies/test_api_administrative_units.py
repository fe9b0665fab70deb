import base64

import pytest

from agencies.actions import load_administrative_units
from tests import factories as f

URL = "/api/v1/administrative-units/"


@pytest.fixture
def all_units(db):
    load_administrative_units()


def _codes(response):
    return [(item["level"], item["code"]) for item in response.json()["results"]]


def _error(response):
    body = response.json()
    assert body["type"] == "validation_error"
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert set(error) == {"code", "detail", "attr"}
    return error


def test_anyone_lists_units_with_their_parent_code(api, world):
    response = api.get(URL, {"level": "commune", "parent": 8})

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {"code": 2266, "name": "Xã Lâm Bình", "level": "commune", "parent": 8},
            {"code": 2269, "name": "Xã Thượng Lâm", "level": "commune", "parent": 8},
        ],
    }


def test_provinces_have_no_parent(api, world):
    response = api.get(URL, {"level": "province"})

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"code": 8, "name": "Tuyên Quang", "level": "province", "parent": None},
        {"code": 11, "name": "Điện Biên", "level": "province", "parent": None},
    ]


@pytest.mark.parametrize("term", ["lam binh", "Lâm Bình", "LÂM  BÌNH", "xa lam binh"])
def test_search_ignores_diacritics_case_and_spacing(api, world, term):
    response = api.get(URL, {"search": term})

    assert response.status_code == 200
    assert _codes(response) == [("commune", 2266)]


def test_search_with_d_stroke(api, world):
    response = api.get(URL, {"search": "dien bien"})
    assert _codes(response) == [("province", 11)]
    response = api.get(URL, {"search": "Điện"})
    assert _codes(response) == [("province", 11)]


def test_search_the_real_list(api, all_units):
    for term in ("lam binh", "Lâm Bình"):
        response = api.get(URL, {"search": term, "level": "commune", "parent": 8})
        assert response.status_code == 200
        assert response.json()["results"] == [
            {"code": 2266, "name": "Xã Lâm Bình", "level": "commune", "parent": 8}
        ]


def test_parent_filter_on_the_real_list(api, all_units):
    response = api.get(URL, {"parent": 8, "page_size": 100})

    items = response.json()["results"]
    assert items
    assert {item["parent"] for item in items} == {8}
    assert {item["level"] for item in items} == {"commune"}


@pytest.mark.parametrize(
    ("params", "attr", "code"),
    [
        ({"level": "district"}, "level", "invalid_choice"),
        ({"parent": "tuyen-quang"}, "parent", "invalid"),
        ({"parent": "8.5"}, "parent", "invalid"),
    ],
)
def test_bad_filter_values_answer_400(api, world, params, attr, code):
    response = api.get(URL, params)

    assert response.status_code == 400
    error = _error(response)
    assert error["attr"] == attr
    assert error["code"] == code


def test_cursor_walks_every_commune_in_code_order(api, all_units):
    seen = []
    url = f"{URL}?level=commune&page_size=100"
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        seen.extend(item["code"] for item in response.json()["results"])
        url = response.json()["next"]
        pages += 1

    assert pages == 34
    assert len(seen) == 3321
    assert seen == sorted(set(seen))


def test_unfiltered_list_is_ordered_by_level_then_code(api, world):
    f.ProvinceFactory(code=1, name="Hà Nội")
    response = api.get(URL, {"page_size": 3})
    first = _codes(response)
    response = api.get(response.json()["next"])
    second = _codes(response)

    everything = first + second
    assert everything == sorted(everything)
    assert len(everything) == 6


def test_previous_link_returns_the_same_page(api, world):
    first = api.get(URL, {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()

    assert back["results"] == first["results"]


def test_forged_cursor_is_a_404_not_a_crash(api, world):
    cursor = base64.b64encode(b"p=not-a-number").decode()
    response = api.get(URL, {"cursor": cursor})

    assert response.status_code == 404
    assert response.json()["type"] == "client_error"


@pytest.mark.parametrize("page_size", [2, 50])
def test_one_query_whatever_the_page_size(api, all_units, django_assert_num_queries, page_size):
    with django_assert_num_queries(1):
        response = api.get(URL, {"page_size": page_size, "level": "commune"})
    assert len(response.json()["results"]) == page_size
