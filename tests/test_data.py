import pytest
import torch
from conftest import SHARED_DATA

from genai_lib.data import (
    Batches,
    CharTokenizer,
    SequenceBatches,
    WindowBatches,
    availability,
    load_images,
    load_mnist,
    load_text,
    train_val_split,
)
from genai_lib.data.text import TINYSHAKESPEARE_SHA256


def test_digits_are_8x8_in_unit_range_with_a_balanced_fixed_split():
    train, test = load_images("digits", "train"), load_images("digits", "test")
    assert train.x.shape[1:] == (1, 8, 8) and len(train) + len(test) == 1797
    assert 0.0 <= train.x.min() and train.x.max() <= 1.0 and train.x.dtype == torch.float32
    assert torch.bincount(test.y).min() >= 30  # every class is in the test split
    assert torch.equal(load_images("digits", "train").x, train.x)  # deterministic
    x, y = train  # unpacks like a tuple
    assert len(x) == len(y)


def test_mnist_offline_falls_back_to_the_bundled_subset_with_a_notice(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    train, test = load_mnist("train"), load_mnist("test")
    assert train.x.shape == (4000, 1, 28, 28) and test.x.shape == (1000, 1, 28, 28)
    assert torch.equal(torch.bincount(test.y), torch.full((10,), 100))
    assert 0.0 <= train.x.min() and train.x.max() <= 1.0 and train.x.mean() > 0.05
    assert "offline" in train.source
    # the train and test subsets do not overlap
    flat_train = {bytes(row) for row in (train.x * 255).round().to(torch.uint8).flatten(1).numpy()}
    assert not any(bytes(row) in flat_train for row in (test.x * 255).round().to(torch.uint8).flatten(1).numpy())


def test_unknown_names_are_clear_errors():
    known = "cifar10, digits, mnist, scenes"
    with pytest.raises(ValueError, match=f"Unknown image data set 'imagenet'; available: {known}"):
        load_images("imagenet")
    with pytest.raises(ValueError, match="Unknown split 'valid'"):
        load_images("digits", "valid")
    with pytest.raises(ValueError, match="Unknown corpus 'wiki'; available: pydoc, tinyshakespeare"):
        load_text("wiki")


def test_pydoc_corpus_is_always_there():
    text = load_text("pydoc")
    assert 400_000 < len(text) < 600_000 and "lambda" in text


@pytest.mark.skipif(not (SHARED_DATA / "tinyshakespeare.txt").exists(), reason="needs the shared data folder")
def test_tinyshakespeare_from_a_mirror(monkeypatch):
    monkeypatch.setenv("GENAI_DATA_MIRRORS", str(SHARED_DATA))
    text = load_text("tinyshakespeare")
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")


def test_tinyshakespeare_offline_without_a_copy_is_a_clear_error():
    with pytest.raises(RuntimeError, match=f"offline.*sha256 {TINYSHAKESPEARE_SHA256}"):
        load_text("tinyshakespeare")


def test_char_tokenizer_round_trip_and_errors():
    tok = CharTokenizer.from_text("hello world")
    assert tok.vocab_size == 8 and tok.decode(tok.encode("low hello")) == "low hello"
    assert tok.decode(torch.tensor(tok.encode("old"))) == "old"
    assert CharTokenizer.from_state_dict(tok.state_dict()).encode("dew") == tok.encode("dew")
    with pytest.raises(ValueError, match=r"Characters not in the vocabulary: \['!', 'H'\]"):
        tok.encode("Hello!")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([0, 99])
    with pytest.raises(ValueError, match="The text is empty"):
        CharTokenizer.from_text("")


def test_train_val_split_is_contiguous():
    data = torch.arange(100)
    train, val = train_val_split(data, 0.1)
    assert torch.equal(train, torch.arange(90)) and torch.equal(val, torch.arange(90, 100))
    with pytest.raises(ValueError, match="too short"):
        train_val_split("a", 0.1)


def test_batches_cover_each_epoch_once_and_resume_exactly():
    x, y = torch.arange(10).float(), torch.arange(10)
    b = Batches(x, y, batch_size=3, seed=1)
    assert len(b) == 3
    epoch = [next(b) for _ in range(3)]
    seen = torch.cat([yb for _, yb in epoch])
    assert len(set(seen.tolist())) == 9  # drop_last: 9 of 10, none twice
    assert all(torch.equal(xb.long(), yb) for xb, yb in epoch)  # tensors stay aligned
    state = b.state_dict()
    expected = [next(b)[1] for _ in range(5)]  # crosses into the next epoch
    b2 = Batches(x, y, batch_size=3, seed=1)
    b2.load_state_dict(state)
    assert all(torch.equal(next(b2)[1], e) for e in expected)


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match="same first dimension"):
        Batches(torch.zeros(5), torch.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="empty"):
        Batches(torch.zeros(0), batch_size=2)
    with pytest.raises(ValueError, match="exceeds the data set's 5 examples"):
        Batches(torch.zeros(5), batch_size=8)


def test_sequence_batches_give_next_token_targets_and_resume():
    tokens = torch.arange(50)
    s = SequenceBatches(tokens, block_size=8, batch_size=4, seed=0)
    x, y = next(s)
    assert x.shape == y.shape == (4, 8) and torch.equal(y, x + 1)
    state = s.state_dict()
    after = next(s)[0]
    s.load_state_dict(state)
    assert torch.equal(next(s)[0], after)
    with pytest.raises(ValueError, match="fewer than block_size"):
        SequenceBatches(torch.arange(8), block_size=8, batch_size=1)
    with pytest.raises(ValueError, match="1-D tensor"):
        SequenceBatches(torch.zeros(4, 20), block_size=8, batch_size=1)


def test_window_batches_cut_aligned_windows_start_at_zero_as_often_as_asked_and_resume():
    rows = torch.arange(40 * 100).reshape(40, 100)  # row r holds 100 r, ..., 100 r + 99
    labels = torch.arange(40) * 7
    w = WindowBatches(rows, labels, window=16, batch_size=2000, p_start=0.25, seed=0)
    x, y = next(w)
    assert x.shape == (2000, 17) and torch.equal(x[:, 1:] - x[:, :-1], torch.ones(2000, 16, dtype=torch.long))
    assert torch.equal(y, x[:, 0] // 100 * 7)  # each window's label is its own row's
    share = (x[:, 0] % 100 == 0).float().mean().item()  # 0.25 forced, plus 1/84 of the rest by chance
    assert abs(share - (0.25 + 0.75 / 84)) < 0.03
    assert int((x[:, -1] % 100).max()) <= 99  # no window runs past its row
    state = w.state_dict()
    after = next(w)[0]
    w.load_state_dict(state)
    assert torch.equal(next(w)[0], after)
    with pytest.raises(ValueError, match="2-D tensor"):
        WindowBatches(torch.zeros(100), window=8, batch_size=1)
    with pytest.raises(ValueError, match="window must lie"):
        WindowBatches(rows, window=100, batch_size=1)
    with pytest.raises(ValueError, match="one entry per row"):
        WindowBatches(rows, labels[:3], window=8, batch_size=1)


def test_availability_reports_without_downloading(monkeypatch, isolated_cache):
    status = {s.name: s for s in availability()}
    assert set(status) == {
        "digits",
        "mnist",
        "cifar10",
        "scenes",
        "pydoc",
        "chorales",
        "sounds",
        "clips",
        "tinyshakespeare",
    }
    assert status["chorales"].offline and status["sounds"].offline  # music21 is a dependency of the book
    assert status["digits"].offline and status["pydoc"].offline and "subset" in status["mnist"].detail
    assert not status["tinyshakespeare"].offline and not isolated_cache.exists()
