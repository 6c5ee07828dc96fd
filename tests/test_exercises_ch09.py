"""The checks of chapter 09's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch
import torch.nn.functional as F

from assignments.wrong_answers import ch09 as wrong
from genai_checks import (
    CheckError,
    check_causal_attention,
    check_causal_attention_large_scores,
    check_split_merge_heads,
)

# ----- Exercise 9.1 ----------------------------------------------------------------------------------------


def good_attention(q, k, v):
    T, hs = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
    scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def test_causal_attention_accepts_correct_solutions(capsys):
    check_causal_attention(good_attention)
    check_causal_attention(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))

    def additive_mask(q, k, v):  # an additive -inf mask from triu(1) is the same thing
        T = q.size(-2)
        bias = torch.full((T, T), float("-inf"), dtype=q.dtype).triu(1)
        return torch.softmax(q @ k.mT * q.size(-1) ** -0.5 + bias, dim=-1) @ v

    check_causal_attention(additive_mask)

    def renormalised_after(q, k, v):  # masking after the softmax and renormalising is also exact
        T = q.size(-2)
        w = torch.softmax(q @ k.mT / math.sqrt(q.size(-1)), dim=-1) * torch.ones(T, T, dtype=q.dtype).tril()
        return w / w.sum(-1, keepdim=True) @ v

    check_causal_attention(renormalised_after)
    assert "Correct" in capsys.readouterr().out


def _variant(scale=None, keep=lambda T: torch.ones(T, T, dtype=torch.bool).tril(), dim=-1, fill=float("-inf")):
    def attention(q, k, v):
        T, hs = q.size(-2), q.size(-1)
        s = 1 / math.sqrt(hs) if scale is None else scale(T, hs)
        scores = (q @ k.transpose(-2, -1) * s).masked_fill(~keep(T), fill)
        return torch.softmax(scores, dim=dim) @ v

    return attention


def mask_after_softmax(q, k, v):
    T = q.size(-2)
    w = torch.softmax(q @ k.mT / math.sqrt(q.size(-1)), dim=-1)
    return w.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), 0.0) @ v


def transposed_weights(q, k, v):
    T = q.size(-2)
    w = torch.softmax(
        (q @ k.mT / math.sqrt(q.size(-1))).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")),
        dim=-1,
    )
    return w.mT @ v


def leaks_one_step(q, k, v):  # an unusual mistake: the mask lets each query see one key ahead
    return _variant(keep=lambda T: torch.ones(T, T, dtype=torch.bool).tril(1))(q, k, v)


def hard_coded_T(q, k, v):
    mask = torch.ones(7, 7, dtype=torch.bool).tril()
    scores = (q @ k.mT / math.sqrt(q.size(-1))).masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda q, k, v: None, "write your solution"),
        (lambda q, k, v: ..., "write your solution"),
        (lambda q, k, v: (good_attention(q, k, v), None), "Return only the output"),
        (lambda q, k, v: good_attention(q, k, v)[..., 0], "returned shape"),
        (_variant(scale=lambda T, hs: 1.0), r"forgot to divide the scores by sqrt\(hs\)"),
        (_variant(scale=lambda T, hs: 1 / hs), "divide by its square root"),
        (_variant(scale=lambda T, hs: 1 / math.sqrt(T)), r"scaled by sqrt\(T\)"),
        (_variant(keep=lambda T: torch.ones(T, T, dtype=torch.bool).triu()), "mask points the wrong way"),
        (_variant(keep=lambda T: torch.ones(T, T, dtype=torch.bool)), "no causal mask"),
        (mask_after_softmax, "mask after the softmax"),
        (_variant(fill=0.0), "filled the masked scores with 0"),
        (_variant(dim=-2), "softmax is over the wrong axis"),
        (transposed_weights, "transposed weights"),
        (leaks_one_step, "leaks from the future"),
        (_variant(keep=lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)), "contains NaN.*keep the diagonal"),
        (hard_coded_T, "(?i)do not hard-code T"),
        (lambda q, k, v: good_attention(q, k, v) * 1.01, "output at position 0 is.*must be v"),
        (
            lambda q, k, v: good_attention(q, k, v) + 0.01 * torch.arange(q.size(-2))[:, None],
            r"causal_attention\(q, k, v\) is",
        ),
    ],
)
def test_causal_attention_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_causal_attention(wrong)


def test_causal_attention_hidden_check_wants_a_stable_softmax(capsys):
    def shifted_by_hand(q, k, v):  # the softmax written out, with each row's maximum subtracted: stable
        T = q.size(-2)
        scores = (q @ k.mT / math.sqrt(q.size(-1))).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), -1e9)
        w = (scores - scores.amax(-1, keepdim=True)).exp()
        return w / w.sum(-1, keepdim=True) @ v

    def renormalised_after(q, k, v):  # masking after the softmax and renormalising is also exact
        T = q.size(-2)
        w = torch.softmax(q @ k.mT / math.sqrt(q.size(-1)), dim=-1) * torch.ones(T, T, dtype=q.dtype).tril()
        return w / w.sum(-1, keepdim=True) @ v

    for solution in (good_attention, shifted_by_hand, renormalised_after):
        check_causal_attention_large_scores(solution)
    check_causal_attention_large_scores(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
    check_causal_attention_large_scores(lambda q, k, v: good_attention(q.double(), k.double(), v.double()))
    assert capsys.readouterr().out.count("Correct") == 5
    with pytest.raises(CheckError, match=r"overflows float32 above 88.7.*exp\(scores\) / sum"):
        check_causal_attention_large_scores(wrong.causal_attention)


# ----- Exercise 9.2 ----------------------------------------------------------------------------------------


def good_split(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def good_merge(y):
    B, nh, T, hs = y.shape
    return y.transpose(1, 2).contiguous().view(B, T, nh * hs)


def test_split_merge_accepts_correct_solutions(capsys):
    check_split_merge_heads(good_split, good_merge)
    check_split_merge_heads(
        lambda x, nh: x.unflatten(-1, (nh, -1)).permute(0, 2, 1, 3), lambda y: y.permute(0, 2, 1, 3).flatten(2)
    )
    check_split_merge_heads(good_split, lambda y: y.transpose(1, 2).reshape(y.size(0), y.size(2), -1))
    assert "Correct" in capsys.readouterr().out


def view_only(x, n_head):
    B, T, C = x.shape
    return x.view(B, n_head, T, C // n_head)


def interleaved(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, C // n_head, n_head).permute(0, 3, 1, 2)


@pytest.mark.parametrize(
    "split, merge, message",
    [
        (lambda x, nh: None, good_merge, "write your solution"),
        (good_split, lambda y: ..., "write your solution"),
        (lambda x, nh: x.view(x.size(0), x.size(1), nh, -1), good_merge, r"expected \(B, nh, T, hs\)"),
        (view_only, good_merge, "without a transpose"),
        (interleaved, good_merge, "every nh-th channel"),
        (good_split, lambda y: y.transpose(1, 2).view(y.size(0), y.size(2), -1), r"call .contiguous\(\)"),
        (good_split, lambda y: y.reshape(y.size(0), y.size(2), -1), "without transposing back"),
        (good_split, lambda y: y.transpose(1, 2), "returned shape"),
        (good_split, lambda y: y.permute(0, 2, 3, 1).reshape(y.size(0), y.size(2), -1), "merging must undo splitting"),
    ],
)
def test_split_merge_explains_mistakes(split, merge, message):
    with pytest.raises(CheckError, match=message):
        check_split_merge_heads(split, merge)
