"""eval.sig_floor: the sign-flip floor 2^(1-n), and that the fixed test reaches it when every change is one way."""

from eval.sig_floor import floor, scan
from eval.significance import randomisation_p


def test_floor_values():
    assert floor(2, 0) == 0.5
    assert floor(5, 0) == 0.0625
    assert floor(0, 0) == 1.0


def test_randomisation_p_equals_floor_when_all_changes_go_one_way():
    for wins in (2, 5, 7):
        system = [0.9] * 91
        baseline = [0.9] * (91 - wins) + [0.9 - 0.01 * (k + 1) for k in range(wins)]
        assert abs(randomisation_p(system, baseline) - floor(wins, 0)) < 0.01


def test_scan_flags_a_p_below_its_floor_and_not_a_plausible_one():
    text = "a (+0.003, p<0.001, 2/42/0) b (+0.02, p=0.49, 0/31/2) c (+0.03, p=0.003, 12/168/2)"
    flagged = [(claim, below) for _, claim, *_, below, suspect in scan(text) if suspect]
    assert flagged == [("p<0.001, 2/42/0", True)]
