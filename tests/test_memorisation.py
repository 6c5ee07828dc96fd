"""Memorisation measures of genai_lib.metrics: verbatim n-gram rates of text and the copy rate of images."""

import pytest
import torch

from genai_lib.metrics import copy_rate, ngram_set, verbatim_rate


def test_ngram_set_holds_every_window():
    assert ngram_set("abcab", 2) == {"ab", "bc", "ca"}
    assert ngram_set("ab", 3) == set()
    with pytest.raises(ValueError, match="positive"):
        ngram_set("abc", 0)


def test_verbatim_rate_counts_overlapping_windows_of_each_sample():
    reference = "the cat sat on the mat"
    assert verbatim_rate("the cat", reference, 3) == 1.0
    # "dog" windows: "the", "he ", "e d", " do", "dog" -> 2 of 5 occur in the reference
    assert verbatim_rate("the dog", reference, 3) == pytest.approx(2 / 5)
    # no window spans the two samples: "at" + "th" would make "att", which is not counted
    assert verbatim_rate(["mat", "the"], reference, 3) == 1.0
    # a precomputed set gives the same answer, and a set of the wrong length is refused
    assert verbatim_rate("the dog", ngram_set(reference, 3), 3) == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="length 4"):
        verbatim_rate("the dog", ngram_set(reference, 4), 3)
    with pytest.raises(ValueError, match="at least n"):
        verbatim_rate(["ab"], reference, 3)


def test_verbatim_rate_matches_brute_force_search():
    g = torch.Generator().manual_seed(0)
    alphabet = "ab c"
    reference = "".join(alphabet[i] for i in torch.randint(4, (400,), generator=g).tolist())
    samples = ["".join(alphabet[i] for i in torch.randint(4, (50,), generator=g).tolist()) for _ in range(5)]
    for n in (1, 3, 6, 10):
        windows = [s[i : i + n] for s in samples for i in range(len(s) - n + 1)]
        brute = sum(w in reference for w in windows) / len(windows)
        assert verbatim_rate(samples, reference, n) == pytest.approx(brute)


def test_copy_rate_is_quantile_for_fresh_data_and_one_for_copies():
    g = torch.Generator().manual_seed(0)
    train, held, fresh = (torch.randn(n, 5, generator=g) for n in (300, 2000, 2000))
    assert copy_rate(train[:100], train, held) == 1.0
    assert abs(copy_rate(fresh, train, held, quantile=0.1) - 0.1) < 0.03
