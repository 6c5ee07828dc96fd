"""genai_lib.music_metrics: key finding, voice leading, the copy check and the n-gram baseline on hand-built pieces."""

import math
import time

import pytest
import torch

from genai_lib.music_metrics import (
    estimate_key,
    histogram_distance,
    in_key_share,
    longest_shared_run,
    longest_shared_runs,
    parallel_perfects,
    pitch_class_histogram,
    voice_ranges,
)
from genai_lib.ngram import NGramModel

REST = -1


def melody(notes, steps_per_note=1):
    """One voice (1, T) playing `notes` in turn, each struck once and held for `steps_per_note` steps."""
    pitches = torch.tensor(notes).repeat_interleave(steps_per_note)[None]  # (1, T)
    onsets = torch.zeros_like(pitches, dtype=torch.bool)
    onsets[0, ::steps_per_note] = True
    return pitches, onsets


def two_voices(upper, lower, upper_onsets=None, lower_onsets=None):
    pitches = torch.tensor([upper, lower])  # (2, T)
    onsets = torch.ones_like(pitches, dtype=torch.bool)
    if upper_onsets is not None:
        onsets[0] = torch.tensor(upper_onsets)
    if lower_onsets is not None:
        onsets[1] = torch.tensor(lower_onsets)
    return pitches, onsets


C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]
A_MINOR = [57, 59, 60, 62, 64, 65, 67, 69]  # the same white keys, from A to A


# ----- pitch classes and key ------------------------------------------------------------------------------


def test_pitch_class_histogram_counts_onsets_not_durations():
    short_c = melody([60, 67])
    long_c = (torch.tensor([[60, 60, 60, 67]]), torch.tensor([[True, False, False, True]]))  # C held 3 steps
    for p, o in (short_c, long_c):
        h = pitch_class_histogram(p, o)
        assert h.shape == (12,) and h.sum() == pytest.approx(1.0)
        assert h[0] == pytest.approx(0.5) and h[7] == pytest.approx(0.5)  # C and G once each
    with pytest.raises(ValueError, match="no note onsets"):
        pitch_class_histogram(torch.full((4, 3), REST), torch.zeros(4, 3, dtype=torch.bool))


def test_c_major_scale_is_c_major_and_entirely_in_key():
    pitches, onsets = melody(C_MAJOR, steps_per_note=4)
    assert estimate_key(pitch_class_histogram(pitches, onsets)) == (0, "major")
    assert in_key_share(pitches, onsets) == 1.0


def test_a_minor_material_is_a_minor_and_the_raised_seventh_is_in_key():
    pitches, onsets = melody(A_MINOR, steps_per_note=4)
    assert estimate_key(pitch_class_histogram(pitches, onsets)) == (9, "minor")
    harmonic = melody([57, 59, 60, 62, 64, 65, 68, 69, 57, 60, 64], steps_per_note=2)  # G# leading note
    assert estimate_key(pitch_class_histogram(*harmonic)) == (9, "minor")
    assert in_key_share(*harmonic) == 1.0


@pytest.mark.parametrize("shift", range(12))
def test_key_follows_transposition(shift):
    up = melody([p + shift for p in C_MAJOR])
    down = melody([p + shift for p in A_MINOR])
    assert estimate_key(pitch_class_histogram(*up)) == (shift % 12, "major")
    assert estimate_key(pitch_class_histogram(*down)) == ((9 + shift) % 12, "minor")


def test_chromatic_notes_lower_the_in_key_share():
    pitches, onsets = melody(C_MAJOR + [61, 63])  # C# and Eb in C major: 8 of 10 in key
    assert in_key_share(pitches, onsets) == pytest.approx(0.8)


def test_histogram_distance_is_total_variation():
    p = pitch_class_histogram(*melody(C_MAJOR))
    assert histogram_distance(p, p) == 0.0
    assert histogram_distance(pitch_class_histogram(*melody([60, 64])), pitch_class_histogram(*melody([61, 66]))) == 1.0
    q = torch.zeros(12)
    q[0] = 1.0
    assert histogram_distance(p, q) == pytest.approx(histogram_distance(q, p))
    assert histogram_distance(p, q) == pytest.approx(1 - 2 / 8)  # all mass moves except C's share of 2/8
    with pytest.raises(ValueError, match="distribution"):
        histogram_distance(p, 2 * q)
    with pytest.raises(ValueError, match="one length"):
        histogram_distance(p, torch.ones(7) / 7)


def test_voice_ranges_ignore_rests():
    pitches = torch.tensor([[72, REST, 79, 74], [REST, REST, REST, REST], [48, 43, REST, 50]])
    assert voice_ranges(pitches) == [(72, 79), (REST, REST), (43, 50)]


# ----- parallel perfects ---------------------------------------------------------------------------------


def test_parallel_fifths_and_octaves_are_counted():
    fifths = two_voices([67, 69, 71], [60, 62, 64])  # C-G, D-A, E-B: two parallel fifths
    r = parallel_perfects(*fifths, steps_per_quarter=1)
    assert (r["fifths"], r["octaves"], r["beats"]) == (2, 0, 3.0)
    assert r["per_100_beats"] == pytest.approx(200 / 3)
    octaves = two_voices([72, 74, 72], [60, 62, 60])  # octaves, moving up, then down together
    assert parallel_perfects(*octaves)["octaves"] == 2
    compound = two_voices([55, 69], [48, 50])  # a fifth to a twelfth, both rising: still consecutive fifths
    assert parallel_perfects(*compound)["fifths"] == 1


def test_contrary_motion_held_and_repeated_fifths_are_not_parallels():
    contrary = two_voices([69, 67], [57, 60])  # octave A-A to fifth C-G in contrary motion
    held = two_voices([67, 67, 67], [60, 60, 60], [True, False, False], [True, False, False])
    restruck = two_voices([67, 67, 67], [60, 60, 60])  # the same fifth struck again
    oblique = two_voices([67, 69], [60, 60])  # only one voice moves
    direct = two_voices([65, 67], [57, 60])  # a sixth to a fifth, both rising: a direct, not a parallel, fifth
    for piece in (contrary, held, restruck, oblique, direct):
        r = parallel_perfects(*piece)
        assert r["fifths"] == 0 and r["octaves"] == 0, piece


def test_rests_break_parallels_and_every_pair_is_checked():
    rest_between = two_voices([67, REST, 69], [60, REST, 62])
    assert parallel_perfects(*rest_between)["fifths"] == 0
    # four voices, all rising a whole tone from C-G-C-C: S-A a 4th, S-T and S-B and T-B octaves, A-T and A-B 5ths
    pitches = torch.tensor([[72, 74], [67, 69], [60, 62], [48, 50]])
    onsets = torch.ones(4, 2, dtype=torch.bool)
    r = parallel_perfects(pitches, onsets)
    assert (r["fifths"], r["octaves"]) == (2, 3)  # parallel fourths are allowed, and not counted


# ----- the copy check ------------------------------------------------------------------------------------


def brute_force_run(sample, corpus):
    """The longest run of `sample` inside any corpus sequence, by trying every substring."""
    s, seqs = sample.tolist(), [c.tolist() for c in corpus]
    best = 0
    for i in range(len(s)):
        for j in range(i + best + 1, len(s) + 1):
            w = s[i:j]
            if any(w == c[k : k + len(w)] for c in seqs for k in range(len(c) - len(w) + 1)):
                best = j - i
            else:
                break
    return best


def test_longest_shared_run_finds_a_planted_run():
    g = torch.Generator().manual_seed(0)
    corpus = [torch.randint(0, 50, (1000,), generator=g) for _ in range(20)]
    sample = torch.randint(50, 100, (300,), generator=g)  # its own vocabulary: nothing shared yet
    assert longest_shared_run(sample, corpus) == 0
    sample[100:137] = corpus[7][500:537]  # plant a run of 37 tokens
    assert longest_shared_run(sample, corpus) == 37
    assert longest_shared_run(corpus[3], corpus) == 1000  # a training piece is all copy
    assert longest_shared_run(sample, []) == 0


def test_longest_shared_run_matches_brute_force_on_random_small_cases():
    g = torch.Generator().manual_seed(1)
    for case in range(200):
        V = int(torch.randint(2, 5, (), generator=g))  # few tokens: many partial matches
        sample = torch.randint(0, V, (int(torch.randint(1, 25, (), generator=g)),), generator=g)
        corpus = [
            torch.randint(0, V, (int(torch.randint(1, 20, (), generator=g)),), generator=g)
            for _ in range(int(torch.randint(1, 4, (), generator=g)))
        ]
        assert longest_shared_run(sample, corpus) == brute_force_run(sample, corpus), (case, sample, corpus)


def test_many_samples_at_once_get_each_its_own_answer():
    g = torch.Generator().manual_seed(2)
    for case in range(60):
        V = int(torch.randint(2, 5, (), generator=g))
        corpus = [torch.randint(0, V, (int(torch.randint(1, 30, (), generator=g)),), generator=g) for _ in range(3)]
        samples = [torch.randint(0, V, (int(torch.randint(1, 40, (), generator=g)),), generator=g) for _ in range(5)]
        got = longest_shared_runs(samples, corpus)
        assert got == [brute_force_run(s, corpus) for s in samples], (case, samples, corpus)
    assert longest_shared_runs([], corpus) == [] and longest_shared_runs(samples, []) == [0] * 5


def test_longest_shared_run_does_not_span_two_corpus_sequences():
    corpus = [torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])]
    assert longest_shared_run(torch.tensor([2, 3, 4, 5]), corpus) == 2


def test_longest_shared_run_is_fast_at_chapter_scale():
    g = torch.Generator().manual_seed(2)
    corpus = [torch.randint(0, 120, (1000,), generator=g) for _ in range(300)]
    sample = torch.randint(0, 120, (1000,), generator=g)
    sample[200:400] = corpus[123][10:210]
    start = time.perf_counter()
    assert longest_shared_run(sample, corpus) == 200
    assert time.perf_counter() - start < 10  # ~0.3 s on one core; generous for a loaded machine


def test_longest_shared_run_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        longest_shared_run(torch.zeros(2, 3, dtype=torch.long), [torch.tensor([1])])
    with pytest.raises(ValueError, match=r"corpus_tokens\[1\]"):
        longest_shared_run(torch.tensor([1]), [torch.tensor([1]), torch.tensor([0.5])])


# ----- the n-gram baseline ------------------------------------------------------------------------------


def test_ngram_nll_of_uniform_data_is_log_v():
    V = 7
    seqs = [torch.arange(V).repeat(3), torch.arange(V).flip(0)]  # every token equally often
    for alpha in (0.01, 1.0):
        assert NGramModel(1, V, alpha=alpha).fit(seqs).nll_per_token(seqs) == pytest.approx(math.log(V))
    # an untrained context falls back to the uniform distribution, whatever n
    model = NGramModel(3, V).fit([torch.tensor([0, 1, 2])])
    assert model.log_probs(torch.tensor([5, 6]))[1].item() == pytest.approx(-math.log(V))


def test_ngram_nll_of_a_repeating_sequence_falls_with_n():
    pattern = torch.tensor([0, 1, 2, 0, 1, 3])  # after (2, 0, 1) comes 3, after (3, 0, 1) comes 2
    seqs = [pattern.repeat(20), pattern.roll(2).repeat(15)]
    nll = [NGramModel(n, 4, alpha=0.01).fit(seqs).nll_per_token(seqs) for n in (1, 2, 3, 4)]
    assert all(nll[i] > nll[i + 1] for i in range(3)), nll
    assert nll[-1] < 0.1  # the 4-gram knows the pattern
    assert nll[1] == pytest.approx(nll[2], abs=0.05)  # a 3-gram context (0, 1) is no better than (1)


def test_ngram_conditionals_sum_to_one_and_match_counts():
    V, n, alpha = 5, 2, 0.5
    train = [torch.tensor([0, 1, 0, 1, 0, 2, 4])]
    model = NGramModel(n, V, alpha=alpha).fit(train)
    for context in range(V):  # p(. | context) over the V tokens is a distribution
        probs = torch.stack([model.log_probs(torch.tensor([context, b]))[1].exp() for b in range(V)])
        assert probs.sum().item() == pytest.approx(1.0)
    # 0 is followed by 1 twice and by 2 once: p(1 | 0) = (2 + alpha) / (3 + V alpha)
    assert model.log_probs(torch.tensor([0, 1]))[1].exp().item() == pytest.approx((2 + alpha) / (3 + V * alpha))
    # the first token is predicted from the start context: the training sequence starts with 0 once
    assert model.log_probs(torch.tensor([0]))[0].exp().item() == pytest.approx((1 + alpha) / (1 + V * alpha))
    full = model.nll_per_token(train)
    rest = model.nll_per_token(train, skip_first=True)
    lp = model.log_probs(train[0])
    assert full == pytest.approx(-lp.mean().item()) and rest == pytest.approx(-lp[1:].mean().item())


def test_ngram_rejects_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        NGramModel(2, 10, alpha=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        NGramModel(0, 10)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        NGramModel(2, 10).fit([torch.tensor([3, 10])])
    with pytest.raises(RuntimeError, match="fit"):
        NGramModel(2, 10).nll_per_token([torch.tensor([1, 2])])


def test_with_alpha_scores_as_a_fresh_fit_with_that_alpha():
    g = torch.Generator().manual_seed(3)
    train = [torch.randint(0, 6, (200,), generator=g) for _ in range(3)]
    valid = [torch.randint(0, 6, (50,), generator=g)]
    counted = NGramModel(3, 6, alpha=0.1).fit(train)
    for alpha in (0.01, 0.5):
        fresh = NGramModel(3, 6, alpha=alpha).fit(train).nll_per_token(valid)
        assert counted.with_alpha(alpha).nll_per_token(valid) == pytest.approx(fresh, rel=1e-12)
    with pytest.raises(ValueError, match="alpha must be positive"):
        counted.with_alpha(0.0)
