"""The unified social credit code (GB 32100): the check character over real-format codes."""

from __future__ import annotations

import random

import pytest

from casework.domain.credit_code import ALPHABET, check_character, credit_code_problem, generate


def test_the_standards_own_example_is_valid() -> None:
    # GB 32100-2015's worked example.
    assert credit_code_problem("91350100M000100Y43") is None
    assert check_character("91350100M000100Y4") == "3"


def test_generated_codes_are_valid_and_any_one_changed_character_is_caught() -> None:
    rng = random.Random(7)
    for _ in range(200):
        code = generate(rng, "320602")
        assert credit_code_problem(code) is None
        pos = rng.randrange(18)
        other = rng.choice([c for c in ALPHABET if c != code[pos]])
        flipped = code[:pos] + other + code[pos + 1 :]
        assert credit_code_problem(flipped) is not None, (code, flipped)


def test_two_swapped_neighbours_are_caught() -> None:
    code = "91350100M000100Y43"
    swapped = code[:8] + code[9] + code[8] + code[10:]
    assert swapped != code
    assert credit_code_problem(swapped) is not None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M0001O0Y43", "not allowed: O"),
        ("91350100m000100Y43", "not allowed: m"),
        ("9135A100M000100Y43", "administrative division"),
        ("91350100M000100Y44", "check character"),
    ],
)
def test_a_bad_code_says_what_is_wrong(code: str, words: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None and words in problem
