import pytest

from common.tracking import ALPHABET, check_character, new_tracking_code, normalize_tracking_code


def test_new_code_has_the_documented_shape_and_a_valid_check():
    code = new_tracking_code("DV")
    prefix, first, second, check = code.split("-")
    assert prefix == "DV" and len(first) == len(second) == 4 and len(check) == 1
    assert set(first + second + check) <= set(ALPHABET)
    assert normalize_tracking_code(code, "DV") == code


def test_lookup_forgives_case_hyphens_and_look_alike_letters():
    code = new_tracking_code("DV")
    body = code.replace("-", "")[2:]
    typed = body.lower().replace("0", "o").replace("1", "l")
    assert normalize_tracking_code(typed, "DV") == code
    assert normalize_tracking_code(f"dv {body[:4]} {body[4:]}", "DV") == code


@pytest.mark.parametrize("position", range(8))
def test_every_single_character_mistake_is_caught(position):
    body = "7K3M9QX2"
    check = check_character(body)
    for replacement in ALPHABET:
        if replacement == body[position]:
            continue
        wrong = body[:position] + replacement + body[position + 1 :]
        assert normalize_tracking_code(wrong + check, "DV") is None


@pytest.mark.parametrize("typed", ["", "DV", "DV-7K3M-9QX2", "DV-7K3M-9QX2-HH", "DV-7K3M-9QX!-H"])
def test_malformed_codes_are_rejected(typed):
    assert normalize_tracking_code(typed, "DV") is None
