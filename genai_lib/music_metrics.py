"""Musical statistics of four-part chorales: pitch classes, key, ranges, parallel perfects, copying.

A piece is `pitches`, an integer tensor (V, T) of MIDI pitches on a sixteenth-note grid (voices soprano, alto,
tenor, bass; -1 is a rest), and `onsets`, a bool tensor (V, T), True where a note starts (False: held).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

REST = -1
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Krumhansl-Kessler probe-tone profiles, tonic first: how well each of the 12 pitch classes fits a major or minor
# key context, as rated by listeners (Krumhansl & Kessler, 1982, Psychological Review 89(4); tabulated in
# Krumhansl, "Cognitive Foundations of Musical Pitch", 1990, Table 2.1).
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

# Scale degrees in semitones above the tonic. Minor is the natural minor plus the raised 6th and 7th (9, 11) of
# the melodic and harmonic minor, which Bach's minor chorales use at every cadence.
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 9, 10, 11)


def check_piece(pitches, onsets) -> tuple[torch.Tensor, torch.Tensor]:
    """Check one piece and return it as (pitches int64 (V, T), onsets bool (V, T)) on the CPU."""
    pitches, onsets = torch.as_tensor(pitches), torch.as_tensor(onsets)
    if pitches.dim() != 2 or pitches.shape != onsets.shape:
        raise ValueError(
            f"A piece is pitches (V, T) and onsets (V, T) of the same shape (voices x time steps), got "
            f"{tuple(pitches.shape)} and {tuple(onsets.shape)}; index a batch (B, V, T) as pitches[i], onsets[i]."
        )
    if pitches.is_floating_point() or pitches.is_complex() or pitches.dtype == torch.bool:
        raise ValueError(f"pitches must hold integer MIDI numbers (-1 for a rest), got dtype {pitches.dtype}.")
    if onsets.dtype != torch.bool:
        raise ValueError(f"onsets must be a bool tensor (True where a note starts), got dtype {onsets.dtype}.")
    pitches = pitches.detach().cpu().long()
    if pitches.numel() and (pitches.min() < REST or pitches.max() > 127):
        raise ValueError(
            f"pitches must be MIDI numbers 0..127 or -1 for a rest, got values from {int(pitches.min())} "
            f"to {int(pitches.max())}."
        )
    return pitches, onsets.detach().cpu()


def _onset_pitches(pitches: torch.Tensor, onsets: torch.Tensor) -> torch.Tensor:
    """The MIDI pitch of every note onset of the piece, all voices together, (N,)."""
    pitches, onsets = check_piece(pitches, onsets)
    return pitches[onsets & (pitches > REST)]


# ----- pitch classes and key -------------------------------------------------------------------------------


def pitch_class_histogram(pitches: torch.Tensor, onsets: torch.Tensor) -> torch.Tensor:
    """Share of note onsets per pitch class (C = 0, C# = 1, ..., B = 11), (12,); a held note counts once."""
    notes = _onset_pitches(pitches, onsets)
    if len(notes) == 0:
        raise ValueError("The piece has no note onsets (only rests or held notes): it has no pitch-class histogram.")
    counts = torch.bincount(notes % 12, minlength=12).double()
    return (counts / counts.sum()).float()


def histogram_distance(p: torch.Tensor, q: torch.Tensor) -> float:
    """Total-variation distance 0.5 * sum abs(p - q) between two distributions: 0 for equal, 1 for disjoint support."""
    p, q = torch.as_tensor(p).double(), torch.as_tensor(q).double()
    if p.dim() != 1 or p.shape != q.shape:
        raise ValueError(
            f"histogram_distance needs two 1-D histograms of one length, got {tuple(p.shape)} and {tuple(q.shape)}."
        )
    for name, h in (("p", p), ("q", q)):
        if h.min() < 0 or abs(float(h.sum()) - 1.0) > 1e-4:
            raise ValueError(
                f"{name} must be a distribution (non-negative, summing to 1), it sums to {float(h.sum()):.4g}."
            )
    return float(0.5 * (p - q).abs().sum())


def estimate_key(hist: torch.Tensor) -> tuple[int, str]:
    """The Krumhansl-Schmuckler key-finding algorithm (Krumhansl, 1990): the best-correlated of 24 key profiles.

    Each of the 12 rotations of the major and of the minor Krumhansl-Kessler profile is the profile of one key;
    the key is the one whose profile has the largest Pearson correlation with the pitch-class histogram.
    Returns (tonic pitch class, "major" or "minor"), e.g. (9, "minor") for A minor.
    """
    hist = torch.as_tensor(hist).double()
    if hist.shape != (12,):
        raise ValueError(f"estimate_key needs a pitch-class histogram of shape (12,), got {tuple(hist.shape)}.")
    if float(hist.std()) == 0.0:
        raise ValueError("The histogram is flat (every pitch class equally common): it points to no key.")
    best: tuple[float, int, str] = (-math.inf, 0, "major")
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        prof = torch.tensor(profile, dtype=torch.float64)
        for tonic in range(12):
            # roll so the profile's tonic entry sits at pitch class `tonic`
            r = torch.corrcoef(torch.stack([hist, prof.roll(tonic)]))[0, 1].item()
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def in_key_share(pitches: torch.Tensor, onsets: torch.Tensor) -> float:
    """Share of note onsets whose pitch class lies in the scale of the piece's Krumhansl-Schmuckler key.

    The scale of a major key is its seven degrees; that of a minor key is the natural minor plus the raised 6th
    and 7th (melodic and harmonic minor), nine pitch classes, since a chorale in minor raises them at cadences.
    """
    notes = _onset_pitches(pitches, onsets)
    tonic, mode = estimate_key(pitch_class_histogram(pitches, onsets))
    scale = torch.tensor([(tonic + d) % 12 for d in (MAJOR_SCALE if mode == "major" else MINOR_SCALE)])
    return float(torch.isin(notes % 12, scale).double().mean())


# ----- voice leading ---------------------------------------------------------------------------------------


def voice_ranges(pitches: torch.Tensor) -> list[tuple[int, int]]:
    """(lowest, highest) MIDI pitch of each voice, rests ignored; (-1, -1) for a voice that never sounds."""
    no_onsets = torch.zeros(torch.as_tensor(pitches).shape, dtype=torch.bool)  # ranges need no onsets
    pitches, _ = check_piece(pitches, no_onsets)
    out = []
    for voice in pitches:
        sounding = voice[voice > REST]
        out.append((int(sounding.min()), int(sounding.max())) if len(sounding) else (REST, REST))
    return out


def parallel_perfects(pitches: torch.Tensor, onsets: torch.Tensor, *, steps_per_quarter: int = 4) -> dict:
    """Parallel fifths and octaves/unisons between every pair of voices, as counted in harmony exercises.

    The prohibition of parallel perfect consonances is the oldest rule of voice leading (taught since Fux,
    "Gradus ad Parnassum", 1725), and one that four-part chorale writing observes. At each time step where
    either voice of a pair starts a note (a new sonority), compared with the step before: both voices sound at
    both steps, both change pitch in the same direction, and the interval between them is a perfect fifth
    (7 semitones modulo 12) both times, or an octave/unison (0 modulo 12) both times. A held or re-struck
    interval and contrary motion into a fifth are not parallels. Returns {"fifths", "octaves", "beats",
    "per_100_beats"}, a beat being a quarter note.
    """
    pitches, onsets = check_piece(pitches, onsets)
    if steps_per_quarter < 1:
        raise ValueError(f"steps_per_quarter must be a positive number of grid steps, got {steps_per_quarter}.")
    V, T = pitches.shape
    fifths = octaves = 0
    for i in range(V):
        for j in range(i + 1, V):
            a, b = pitches[i], pitches[j]  # (T,) each
            prev_a, prev_b, now_a, now_b = a[:-1], b[:-1], a[1:], b[1:]  # (T-1,): step t-1 against step t
            new_sonority = onsets[i, 1:] | onsets[j, 1:]
            sounding = (prev_a > REST) & (prev_b > REST) & (now_a > REST) & (now_b > REST)
            step_a, step_b = (now_a - prev_a).sign(), (now_b - prev_b).sign()
            similar = (step_a != 0) & (step_a == step_b)  # both move, the same way
            before, after = (prev_a - prev_b).abs() % 12, (now_a - now_b).abs() % 12
            moving = new_sonority & sounding & similar
            fifths += int((moving & (before == 7) & (after == 7)).sum())
            octaves += int((moving & (before == 0) & (after == 0)).sum())
    beats = T / steps_per_quarter
    per_100 = 100 * (fifths + octaves) / beats if beats > 0 else 0.0
    return {"fifths": fifths, "octaves": octaves, "beats": beats, "per_100_beats": per_100}


# ----- copying: the longest run shared with the training set -------------------------------------------------


def longest_shared_run(sample_tokens: torch.Tensor, corpus_tokens: Sequence[torch.Tensor]) -> int:
    """Length of the longest contiguous run of `sample_tokens` (L,) found in any sequence of `corpus_tokens`."""
    return longest_shared_runs([sample_tokens], corpus_tokens)[0]


def longest_shared_runs(samples: Sequence[torch.Tensor], corpus_tokens: Sequence[torch.Tensor]) -> list[int]:
    """For each sample (a 1-D tensor of token ids), the length of its longest run found in a corpus sequence.

    Method: Karp-Miller-Rosenberg naming (Karp, Miller & Rosenberg, 1972; the doubling step of Manber & Myers'
    suffix arrays, 1993) with a galloping-then-binary search on the length. Every window of 2m tokens gets an
    exact integer name from the names of its two halves of m; a window of any length L in [m, 2m] is then named
    exactly by the names of its first m and its last m tokens. Whether a sample shares some run of length L is
    one `torch.isin` of its window names against the corpus's, and since every part of a shared run is shared,
    the longest length is found by doubling L until the test fails, then bisecting. Unlike a rolling hash this
    has no collisions, and unlike a suffix automaton it is a handful of vectorised sorts rather than a Python
    loop over the corpus. The names are computed once for all samples (they dominate the cost: a few seconds for
    a corpus of millions of tokens), and samples whose answers lie in the same range are bisected together.
    Runs never span two sequences.
    """
    queries = [torch.as_tensor(s) for s in samples]
    seqs = [torch.as_tensor(s) for s in corpus_tokens]
    named = [(f"samples[{k}]", s) for k, s in enumerate(queries)] + [
        (f"corpus_tokens[{k}]", s) for k, s in enumerate(seqs)
    ]
    for what, s in named:
        if s.dim() != 1 or s.is_floating_point():
            raise ValueError(f"{what} must be a 1-D tensor of token ids, got shape {tuple(s.shape)} of {s.dtype}.")
    seqs = [s for s in seqs if len(s)]
    if not queries or not seqs:
        return [0] * len(queries)
    Q = len(queries)
    # One stream: the samples (sequences 0..Q-1), then the corpus; seq_id tells a window's sequence.
    parts = queries + seqs
    tokens = torch.cat([s.cpu().long() for s in parts])  # (N,)
    lengths = torch.tensor([len(s) for s in parts])
    seq_id = torch.repeat_interleave(torch.arange(len(parts)), lengths)  # (N,)
    N = len(tokens)
    names = [torch.unique(tokens, return_inverse=True)[1]]  # names[k][i]: name of tokens[i : i + 2^k], in [0, N)

    def window_names(L: int) -> torch.Tensor:
        """Exact names of all windows of length L, (N - L + 1,), from two overlapping windows of m = 2^k <= L."""
        k = L.bit_length() - 1
        while len(names) <= k:  # one doubling: a window of 2m is the pair (first m, last m)
            m, prev = 2 ** (len(names) - 1), names[-1]
            pairs = prev[: len(prev) - m] * N + prev[m:]
            names.append(torch.unique(pairs, return_inverse=True)[1])
        m = 2**k
        return names[k][: N - L + 1] * N + names[k][L - m : N - m + 1]

    def shared(L: int) -> torch.Tensor:
        """(Q,) bool: whether each sample has a window of L tokens that occurs in a corpus sequence."""
        w = window_names(L)
        start, end = seq_id[: N - L + 1], seq_id[L - 1 :]
        whole = start == end  # the window lies inside one sequence
        query = whole & (start < Q)
        found = torch.isin(w[query], w[whole & (start >= Q)])
        return torch.zeros(Q, dtype=torch.bool).index_put_((start[query],), found, accumulate=True)

    longest_possible = min(int(lengths[:Q].max()), int(lengths[Q:].max()))
    cap = torch.minimum(lengths[:Q], lengths[Q:].max())  # no sample can share more than this
    lo = torch.zeros(Q, dtype=torch.long)  # invariant: each sample shares a run of lo ...
    hi = torch.ones(Q, dtype=torch.long)  # ... and not of hi (once its galloping stops)
    L = 1
    while L <= longest_possible:  # gallop: all samples together, at L = 1, 2, 4, ...
        going = hi == L  # the samples still growing
        if not going.any():
            break
        ok = shared(L) & going & (L <= cap)
        lo = torch.where(ok, torch.full_like(lo, L), lo)
        hi = torch.where(ok, torch.minimum(torch.full_like(hi, 2 * L), cap + 1), hi)
        L *= 2
    while (hi - lo > 1).any():  # bisect: one test of each length some sample asks about, every sample at once
        mid = (lo + hi) // 2
        for m in mid[hi - lo > 1].unique().tolist():
            ask = (mid == m) & (hi - lo > 1)
            ok = shared(m)
            lo = torch.where(ask & ok, mid, lo)
            hi = torch.where(ask & ~ok, mid, hi)
    return lo.tolist()
