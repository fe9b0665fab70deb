import pytest
from django.core.exceptions import ValidationError

from agencies.actions import create_agency, move_agency
from agencies.models import Agency
from agencies.selectors import subtree
from tests import factories as f


def _fresh(world, *keys):
    return [Agency.objects.get(pk=world[k].pk) for k in keys]


def _assert_paths_follow_parents():
    for agency in Agency.objects.select_related("parent"):
        assert agency.path == agency.compute_path(), agency.code


def test_move_re_paths_the_whole_branch(world, django_assert_max_num_queries):
    tq_board, db_board = world["tq_board"], world["db_board"]
    hamlet_desk = f.AgencyFactory(code="hamlet-desk", parent=world["lam_binh_office"])

    # Locking read, parent update, one path update (and the savepoint pair of atomic).
    with django_assert_max_num_queries(5):
        moved = move_agency(tq_board, db_board)

    assert moved.parent == db_board
    tq_board, lam_binh_office, hamlet_desk = (
        Agency.objects.get(pk=a.pk) for a in (tq_board, world["lam_binh_office"], hamlet_desk)
    )
    assert tq_board.parent_id == db_board.pk
    assert tq_board.path == f"{db_board.path}{tq_board.id.hex}/"
    assert lam_binh_office.path == f"{tq_board.path}{lam_binh_office.id.hex}/"
    assert hamlet_desk.path == f"{lam_binh_office.path}{hamlet_desk.id.hex}/"
    assert moved.path == tq_board.path
    _assert_paths_follow_parents()
    assert set(subtree(db_board)) == {
        db_board,
        world["muong_phang_office"],
        tq_board,
        lam_binh_office,
        hamlet_desk,
    }


def test_move_to_the_root(world):
    move_agency(world["tq_board"], None)

    tq_board = Agency.objects.get(pk=world["tq_board"].pk)
    assert tq_board.parent is None
    assert tq_board.path == f"{tq_board.id.hex}/"
    _assert_paths_follow_parents()
    assert world["lam_binh_office"] in subtree(tq_board)
    assert world["lam_binh_office"] not in subtree(world["ministry"])


def test_move_leaves_other_branches_alone(world):
    before = dict(
        Agency.objects.filter(path__startswith=world["db_board"].path).values_list("pk", "path")
    )
    move_agency(world["lam_binh_office"], world["ministry"])
    after = dict(Agency.objects.filter(pk__in=before).values_list("pk", "path"))
    assert after == before


@pytest.mark.parametrize("target", ["tq_board", "lam_binh_office"])
def test_move_refuses_a_cycle(world, target):
    paths = dict(Agency.objects.values_list("pk", "path"))
    parents = dict(Agency.objects.values_list("pk", "parent_id"))

    with pytest.raises(ValidationError) as excinfo:
        move_agency(world["tq_board"], world[target])

    assert "parent" in excinfo.value.message_dict
    assert dict(Agency.objects.values_list("pk", "path")) == paths
    assert dict(Agency.objects.values_list("pk", "parent_id")) == parents


def test_move_checks_the_stored_tree_not_a_stale_object(world):
    # The caller's copy of lam_binh_office predates the move of its board; the action
    # re-reads paths under the lock and still sees the cycle.
    stale_office = world["lam_binh_office"]
    move_agency(world["tq_board"], world["db_board"])
    with pytest.raises(ValidationError):
        move_agency(world["db_board"], stale_office)


def test_create_agency_computes_its_path(world):
    desk = create_agency(
        code="lam-binh-one-stop",
        name="Bộ phận  một cửa xã Lâm Bình",
        level=Agency.Level.COMMUNE,
        parent=world["lam_binh_office"],
        administrative_unit=world["lam_binh"],
    )

    assert desk.name == "Bộ phận một cửa xã Lâm Bình"
    assert desk.path == f"{world['lam_binh_office'].path}{desk.id.hex}/"
    assert Agency.objects.get(pk=desk.pk).path == desk.path


def test_create_agency_validates(world):
    with pytest.raises(ValidationError) as excinfo:
        create_agency(code="not a slug", name="X", level="district")
    assert set(excinfo.value.message_dict) == {"code", "level"}
    assert not Agency.objects.filter(name="X").exists()
