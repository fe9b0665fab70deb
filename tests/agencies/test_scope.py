from django.contrib.auth.models import AnonymousUser

from agencies.actions import move_agency
from agencies.models import Agency, StaffMembership
from agencies.selectors import agencies_in_scope, rank_for, subtree

ALL = ("ministry", "tq_board", "lam_binh_office", "db_board", "muong_phang_office")


def _scope(user):
    return set(agencies_in_scope(user).values_list("code", flat=True))


def _ranks(user, world):
    return {key: rank_for(user, world[key]) for key in ALL}


def test_officer_sees_only_their_own_agency(world, officer_commune):
    assert _scope(officer_commune) == {"lam-binh"}
    assert _ranks(officer_commune, world) == {
        "ministry": 0,
        "tq_board": 0,
        "lam_binh_office": 1,
        "db_board": 0,
        "muong_phang_office": 0,
    }


def test_manager_sees_their_subtree(world, manager_province):
    assert _scope(manager_province) == {"tq-board", "lam-binh"}
    assert _ranks(manager_province, world) == {
        "ministry": 0,
        "tq_board": 2,
        "lam_binh_office": 2,
        "db_board": 0,
        "muong_phang_office": 0,
    }


def test_officer_of_another_province_sees_nothing_of_tuyen_quang(world, officer_other_province):
    assert _scope(officer_other_province) == {"muong-phang"}
    tuyen_quang = subtree(world["tq_board"])
    assert not agencies_in_scope(officer_other_province).filter(pk__in=tuyen_quang).exists()
    assert all(rank_for(officer_other_province, a) == 0 for a in tuyen_quang)


def test_superuser_sees_everything(world, superuser):
    assert _scope(superuser) == set(Agency.objects.values_list("code", flat=True))
    assert set(_ranks(superuser, world).values()) == {99}


def test_citizen_and_anonymous_see_nothing(world, citizen_a):
    assert _scope(citizen_a) == set()
    assert set(_ranks(citizen_a, world).values()) == {0}
    assert _scope(AnonymousUser()) == set()


def test_inactive_staff_see_nothing(world, manager_province):
    manager_province.is_active = False
    manager_province.save()
    assert _scope(manager_province) == set()


def test_best_membership_wins(world, officer_commune):
    StaffMembership.objects.create(
        user=officer_commune, agency=world["tq_board"], role=StaffMembership.Role.ADMIN
    )
    assert rank_for(officer_commune, world["lam_binh_office"]) == 3
    assert _scope(officer_commune) == {"tq-board", "lam-binh"}


def test_scope_follows_a_moved_branch(world, manager_province):
    move_agency(world["lam_binh_office"], world["db_board"])
    office = Agency.objects.get(pk=world["lam_binh_office"].pk)

    assert _scope(manager_province) == {"tq-board"}
    assert rank_for(manager_province, office) == 0
