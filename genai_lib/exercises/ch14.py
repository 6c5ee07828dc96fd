"""Checks for the exercises of chapter 14 (The autoregressive road to text-to-image)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_lib.exercises.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_ar_sequences", "check_guided_logits", "check_positions_processed"]

IGNORE = -100


# ----- Exercise 14.1: the (input, target) sequences -----------------------------------------------------------

def _reference_sequences(ids: torch.Tensor, tokens: torch.Tensor, offset: int, ignore_index: int
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    S = ids.size(1)
    seq = torch.cat([ids, tokens.flatten(1) + offset], dim=1)   # (B, S + h·w)
    targets = seq[:, 1:].clone()
    targets[:, :S - 1] = ignore_index
    return seq[:, :-1], targets


def _sequence_case() -> tuple[torch.Tensor, torch.Tensor, int]:
    g = torch.Generator().manual_seed(14)
    ids = torch.zeros(3, 6, dtype=torch.long)
    ids[:, 0] = 1                                                  # <bos>
    for i, n in enumerate((4, 2, 5)):                              # words, then <pad> = 0
        ids[i, 1:n + 1] = torch.randint(2, 11, (n,), generator=g)
    tokens = torch.randint(0, 16, (3, 2, 3), generator=g)          # (B, h, w) code grids
    return ids, tokens, 11


def check_ar_sequences(make_sequences: Callable[..., tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Exercise 14.1: inputs and targets (B, S + h·w − 1) of the caption-then-image GPT."""
    ids, tokens, offset = _sequence_case()
    result = make_sequences(ids.clone(), tokens.clone(), offset, IGNORE)
    expect_answer(result, "make_sequences", "a pair (inputs, targets)")
    expect(isinstance(result, (tuple, list)) and len(result) == 2,
           f"make_sequences should return a pair (inputs, targets), got {type(result).__name__}.")
    x, y = (torch.as_tensor(t) for t in result)
    ref_x, ref_y = _reference_sequences(ids, tokens, offset, IGNORE)
    B, S = ids.shape
    n = tokens[0].numel()
    full = S + n
    for name, got in (("inputs", x), ("targets", y)):
        if got.shape == (B, full):
            raise CheckError(f"Your {name} have length S + h·w = {full}; they should have {full - 1}. The inputs drop "
                             "the last token (nothing is predicted after it) and the targets drop the first "
                             "(nothing predicts <bos>): inputs = seq[:, :-1], targets = seq[:, 1:].")
        expect(got.shape == ref_x.shape, f"Your {name} have shape {tuple(got.shape)}, expected "
               f"{tuple(ref_x.shape)} = (B, S + h·w − 1) with S = {S} caption tokens and h·w = {n} image tokens.")
    if torch.equal(x, torch.cat([ids, tokens.flatten(1)], 1)[:, :-1]):
        raise CheckError("Your inputs hold the raw code ids 0..K−1, which collide with the caption's word ids: "
                         f"add the offset (here {offset}, the caption vocabulary size) to every image token.")
    if torch.equal(x, torch.cat([ids, tokens.transpose(1, 2).flatten(1) + offset], 1)[:, :-1]):
        raise CheckError("Your image tokens are in column order; flatten the (h, w) grid row by row "
                         "(tokens.flatten(1) or tokens.reshape(B, -1)): raster order is left to right, top to bottom.")
    expect(torch.equal(x.long(), ref_x),
           "Your inputs differ from [caption ids, image tokens + offset] without its last token. Concatenate "
           "ids (B, S) and tokens.flatten(1) + offset (B, h·w) along dim=1, then drop the last column.")
    shifted = ref_y.clone()
    if torch.equal(y, torch.cat([ids, tokens.flatten(1) + offset], 1)[:, :-1]):
        raise CheckError("Your targets equal your inputs: the target at position t is the token at t + 1, "
                         "targets = seq[:, 1:].")
    unmasked = torch.cat([ids, tokens.flatten(1) + offset], 1)[:, 1:]
    if torch.equal(y, unmasked):
        raise CheckError(f"Your targets include the caption's words: set the first S − 1 = {S - 1} targets to "
                         f"ignore_index ({IGNORE}), so that the loss counts image tokens only.")
    if torch.equal(y, torch.cat([ids, tokens.flatten(1)], 1)[:, 1:].masked_fill(ref_y == IGNORE, IGNORE)):
        raise CheckError(f"Your targets are the raw code ids: they need the same offset ({offset}) as the inputs, "
                         "since the logits are over the joint vocabulary.")
    masked_S = shifted.clone()
    masked_S[:, S - 1] = IGNORE
    if torch.equal(y, masked_S):
        raise CheckError(f"You ignored {S} targets, one too many: the target at position S − 1 (the last caption "
                         "token) is the FIRST image token, and it must be predicted. Ignore targets[:, :S-1].")
    masked_less = unmasked.clone()
    masked_less[:, :S - 2] = IGNORE
    if torch.equal(y, masked_less):
        raise CheckError(f"You ignored only {S - 2} targets: the target at position S − 2 is the last caption "
                         "token, not an image token. Ignore targets[:, :S-1].")
    expect(torch.equal(y.long(), ref_y),
           "Your targets differ from seq[:, 1:] with the first S − 1 positions set to ignore_index.")
    passed("inputs are [caption, image tokens + offset][:-1]; targets are shifted by one, captions ignored.")


# ----- Exercise 14.2: classifier-free guidance on logits ------------------------------------------------------

def check_guided_logits(guided_logits: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 14.2: l_∅ + w (l_c − l_∅), the guided logits of one sampling step."""
    g = torch.Generator().manual_seed(2)
    cond, uncond = torch.randn(4, 10, generator=g, dtype=torch.float64), torch.randn(4, 10, generator=g,
                                                                                        dtype=torch.float64)
    for w in (3.0, 1.0, 0.0, 1.5):
        got = guided_logits(cond.clone(), uncond.clone(), w)
        expect_answer(got, "guided_logits", "the guided logits (N, K)")
        got = torch.as_tensor(got, dtype=torch.float64)
        expect(got.shape == cond.shape, f"guided_logits returned shape {tuple(got.shape)}, expected "
               f"{tuple(cond.shape)}: one row of K logits per sample, like cond and uncond.")
        want = uncond + w * (cond - uncond)
        probs, want_probs = got.softmax(-1), want.softmax(-1)
        if torch.allclose(probs, want_probs, atol=1e-6):
            continue  # logits or log-probabilities: both give the same distribution
        if torch.allclose(probs, (cond + w * (uncond - cond)).softmax(-1), atol=1e-6):
            raise CheckError(f"At w = {w}, you moved from the conditional logits towards the unconditional ones: "
                             "swap them, l_∅ + w (l_c − l_∅).")
        if torch.allclose(probs, (uncond + (1 + w) * (cond - uncond)).softmax(-1), atol=1e-6):
            raise CheckError(f"At w = {w}, you used (1 + w): that is the convention of Ho and Salimans' paper. Here "
                             "w = 1 must give the conditional model: l_∅ + w (l_c − l_∅).")
        mix = uncond.softmax(-1) + w * (cond.softmax(-1) - uncond.softmax(-1))
        if torch.allclose(got, mix, atol=1e-6) or torch.allclose(got, mix.clamp_min(1e-12).log(), atol=1e-6):
            raise CheckError(f"At w = {w}, you combined probabilities; guidance combines logits (or "
                             "log-probabilities), which multiplies the distributions: p_∅^(1−w) p_c^w.")
        if torch.allclose(probs, (w * cond).softmax(-1), atol=1e-6):
            raise CheckError(f"At w = {w}, your logits are w · l_c: that is a temperature 1/w on the conditional "
                             "model, not guidance. Subtract the unconditional logits: l_∅ + w (l_c − l_∅).")
        expect_close(probs, want_probs, what=f"softmax of your guided logits at w = {w}", atol=1e-6,
                     hint="Guided logits are l_∅ + w (l_c − l_∅).")
    passed("guided logits l_∅ + w (l_c − l_∅): w = 0 is unconditional, w = 1 conditional, w > 1 beyond it.")


# ----- Exercise 14.3: the cost of sampling without and with a cache ------------------------------------------

def _positions(S: int, n: int, kv_cache: bool) -> int:
    return S + n - 1 if kv_cache else sum(S + t for t in range(n))


def check_positions_processed(positions_processed: Callable[[int, int, bool], int]) -> None:
    """Exercise 14.3: token positions the GPT computes to write n image tokens after an S-token caption."""
    for S, n in ((13, 64), (1, 1), (5, 16), (77, 1024)):
        for cache in (False, True):
            got = positions_processed(S, n, cache)
            expect_answer(got, "positions_processed", "an integer")
            want = _positions(S, n, cache)
            if isinstance(got, (int, float, torch.Tensor)) and int(got) == want:
                continue
            if not cache and got == sum(S + t + 1 for t in range(n)):
                raise CheckError(f"For S = {S}, n = {n} without a cache you counted {got}, one position too many per "
                                 "pass: the last pass reads S + n − 1 tokens (the n-th image token is its output, "
                                 "never an input).")
            if not cache and got in (sum(t for t in range(n)), sum(t + 1 for t in range(n))):
                raise CheckError(f"For S = {S}, n = {n} without a cache you forgot the caption: every pass re-reads "
                                 f"the S = {S} caption tokens too.")
            if not cache and got == n * (S + n - 1):
                raise CheckError(f"For S = {S}, n = {n} without a cache you charged every pass for the longest "
                                 "prefix; pass t reads S + t tokens (t = 0, ..., n − 1), a triangle, not a rectangle.")
            if cache and got == S + n:
                raise CheckError(f"For S = {S}, n = {n} with a cache you counted {got}: the last image token is "
                                 "sampled but never fed back, so the total is S + n − 1.")
            if cache and got == n:
                raise CheckError(f"For S = {S}, n = {n} with a cache you forgot the first pass, which reads the whole "
                                 f"caption (S = {S} positions).")
            expect(int(got) == want, f"For S = {S}, n = {n}, kv_cache={cache}, you counted {got}; expected {want}. "
                   "Without a cache pass t reads S + t positions; with one, the first pass reads S and each later "
                   "pass one new position.")
    passed("without a cache n·S + n(n−1)/2 positions, with one S + n − 1: quadratic against linear in n.")
