"""Which agencies a staff member acts for: own agency for an officer, the subtree for a
manager, everything for a superuser; read from the memberships once per request."""

import pytest

from agencies.selectors import acts_for, agencies_in_scope
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_officer_manager_and_superuser_scopes(
    world, officer_commune, manager_province, superuser, citizen_a
):
    def scope(user):
        return {agency.code for agency in agencies_in_scope(user)}

    assert scope(officer_commune) == {world["lam_binh_office"].code}
    assert scope(manager_province) == {world["tq_board"].code, world["lam_binh_office"].code}
    assert world["db_board"].code in scope(superuser)
    assert scope(citizen_a) == set()


def test_a_manager_deep_in_a_wide_tree_costs_one_query_however_many_agencies(
    world, manager_province, django_assert_num_queries
):
    # A province with 60 commune offices, and another one beside it.
    offices = [
        f.AgencyFactory(code=f"tq-{i}", name=f"UBND xã {i}", parent=world["tq_board"])
        for i in range(60)
    ]
    elsewhere = f.AgencyFactory(code="db-x", name="UBND xã khác", parent=world["db_board"])
    with django_assert_num_queries(1):  # the manager's memberships
        assert acts_for(manager_province, offices[-1].pk, offices[-1].path)
        assert not acts_for(manager_province, elsewhere.pk, elsewhere.path)
        assert acts_for(manager_province, world["tq_board"].pk, world["tq_board"].path)
    with django_assert_num_queries(1):  # the agencies, from the memberships already read
        ids = set(agencies_in_scope(manager_province).values_list("pk", flat=True))
    assert {office.pk for office in offices} <= ids and elsewhere.pk not in ids
    # Without the path at hand: one query for the subtree's ids, then none.
    with django_assert_num_queries(1):
        assert acts_for(manager_province, offices[0].pk)
        assert not acts_for(manager_province, elsewhere.pk)
