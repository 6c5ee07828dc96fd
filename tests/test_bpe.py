import re
from collections import Counter

import pytest
import torch

from genai_lib.data import BPETokenizer, load_text
from genai_lib.data.bpe import SPLIT_PATTERN


def reference_bpe(text: str, vocab_size: int) -> tuple[list[tuple[int, int]], list[int]]:
    """The textbook algorithm, slow and plain: recount every pair before each merge."""
    words = [list(chunk.encode("utf-8")) for chunk in re.findall(SPLIT_PATTERN, text)]
    merges = []
    for new_id in range(256, vocab_size):
        counts = Counter(pair for word in words for pair in zip(word, word[1:], strict=False))
        if not counts or max(counts.values()) < 2:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))  # most frequent; ties: smallest ids
        merges.append(pair)
        for w, word in enumerate(words):
            out, i = [], 0
            while i < len(word):
                if word[i : i + 2] == list(pair):
                    out.append(new_id)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            words[w] = out
    return merges, [i for word in words for i in word]


def test_round_trip_on_arbitrary_unicode():
    tok = BPETokenizer.train(load_text("pydoc")[:3000], 300)
    for text in [
        "naïve café 🙂",
        "日本語のテキスト",
        "e\u0301 (combining)",
        "tabs\tand\nnew\r\nlines  ",
        "x_y__z",
        "",
        "🙂" * 5,
        "\x00\x7f\uffff",
    ]:
        ids = tok.encode(text)
        assert tok.decode(ids) == text and all(0 <= i < tok.vocab_size for i in ids)
    assert tok.encode("🙂") == list("🙂".encode())  # unseen characters fall back to their bytes


def test_merges_on_a_hand_checkable_text():
    # aaabdaaabac: "aa" occurs 4 times (overlaps counted) -> Z; in ZabdZabac "Za" and "ab" tie at 2 and the
    # smaller ids win, a=97 b=98 -> Y; in ZYdZYac "ZY" occurs twice -> X, leaving XdXac (as on Wikipedia).
    tok = BPETokenizer.train("aaabdaaabac", 259)
    a, b = ord("a"), ord("b")
    assert tok.merges == [(a, a), (a, b), (256, 257)]
    assert tok.encode("aaabdaaabac") == [258, ord("d"), 258, a, ord("c")]
    assert tok.vocab[258] == b"aaab" and tok.vocab_size == 259
    with pytest.warns(UserWarning, match="stops at 259 tokens instead of 300"):
        BPETokenizer.train("aaabdaaabac", 300)


def test_fast_training_equals_the_textbook_algorithm():
    text = load_text("pydoc")[:4000]
    merges, final_ids = reference_bpe(text, 330)
    tok = BPETokenizer.train(text, 330)
    assert tok.merges == merges
    assert tok.encode(text) == final_ids  # encoding replays the merges exactly as training applied them


def test_compression_on_pydoc_and_held_out_text():
    text = load_text("pydoc")
    train, held_out = text[:100_000], text[-50_000:]
    tok = BPETokenizer.train(train, 512)
    ids = tok.encode(held_out)
    ratio = len(held_out.encode("utf-8")) / len(ids)
    assert ratio > 1.8 and tok.decode(ids) == held_out  # measured 2.1 bytes per token on the training text
    assert b" the" in tok.vocab


def test_state_dict_round_trip():
    tok = BPETokenizer.train(load_text("pydoc")[:5000], 320)
    again = BPETokenizer.from_state_dict(tok.state_dict())
    text = "Round trip: the tokenizer is the same."
    assert again.merges == tok.merges and again.vocab_size == 320 and again.encode(text) == tok.encode(text)
    assert again.decode(torch.tensor(tok.encode(text))) == text


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="vocab_size=100 is below 256"):
        BPETokenizer.train("some text", 100)
    with pytest.raises(ValueError, match="The text is empty"):
        BPETokenizer.train("", 300)
    tok = BPETokenizer.train("aaabdaaabac", 259)
    with pytest.raises(ValueError, match=r"Token ids \[300\] are outside .* 259 tokens"):
        tok.decode([97, 300])
    with pytest.raises(ValueError, match="uses a token that does not exist yet"):
        BPETokenizer([(97, 97), (300, 97)])
    with pytest.raises(ValueError, match="expected a 'merges' entry"):
        BPETokenizer.from_state_dict({"chars": ["a"]})
