"""Chapter 20's clips of a moving shape, and the analytic judges that read their motion and colour."""

import pytest
import torch

from genai_lib.data.clips import CLIP_GRAMMAR, DIRECTIONS, JITTER, SPEEDS, make_clips
from genai_lib.motion import centroid_track, frame_colours, judge_colour, judge_motion


@pytest.fixture(scope="module")
def splits():
    return {split: make_clips(split, 400, seed=0) for split in ("train", "test", "heldout")}


def test_shapes_dtypes_ranges_and_the_shape_stays_inside(splits):
    for data in splits.values():
        assert data.clips.shape == (400, 8, 3, 32, 32) and data.clips.dtype == torch.float32
        assert data.centres.shape == (400, 8, 2)
        assert 0 <= data.clips.min() and data.clips.max() <= 1
        border = torch.cat([data.clips[..., 0, :], data.clips[..., -1, :], data.clips[..., 0], data.clips[..., -1]], -1)
        assert border.max() == 0  # every frame shows the whole shape, a pixel clear of the edge
        assert (data.clips.flatten(2).sum(-1) > 1).all()  # and no frame is empty


def test_captions_say_the_labels_and_the_path_moves_as_they_say(splits):
    for data in splits.values():
        for i in range(0, len(data), 37):
            names = data.label_names(i)
            assert CLIP_GRAMMAR.parse(data.captions[i]) == names
            steps = data.centres[i, 1:] - data.centres[i, :-1]  # (T - 1, 2)
            want = torch.tensor(DIRECTIONS[names["direction"]], dtype=torch.float32) * SPEEDS[names["speed"]]
            assert torch.allclose(steps, want.expand_as(steps), atol=1e-5)
        middle = (data.centres[:, 0] + data.centres[:, -1]) / 2  # (N, 2): each path's midpoint
        assert (middle - 16).abs().max() <= JITTER + 1e-4  # every path runs through the middle of the frame
        assert (middle - 16).abs().max() > JITTER / 2  # and not all through the same point


def test_held_out_combinations_are_never_in_train_or_test_and_always_in_heldout(splits):
    for split, data in splits.items():
        held = [CLIP_GRAMMAR.is_held_out(data.label_names(i)) for i in range(len(data))]
        assert all(held) if split == "heldout" else not any(held)
    names = [splits["heldout"].label_names(i) for i in range(400)]
    assert any(n["shape"] == "triangle" and n["direction"] == "left" for n in names)  # both combinations occur
    assert any(n["colour"] == "green" and n["direction"] == "down" for n in names)


def test_a_seed_fixes_every_clip_whatever_n_and_seeds_and_splits_differ():
    few, many = make_clips("train", 5, seed=3), make_clips("train", 12, seed=3)
    assert torch.equal(few.clips, many.clips[:5]) and few.captions == many.captions[:5]
    assert not torch.equal(few.clips, make_clips("train", 5, seed=4).clips)
    assert not torch.equal(few.clips, make_clips("test", 5, seed=3).clips)


def test_the_judges_read_motion_and_colour_exactly_on_real_clips(splits):
    for data in splits.values():
        assert (centroid_track(data.clips) - data.centres).abs().max() < 0.2  # pixels, from anti-aliasing only
        motion, colour = judge_motion(data.clips), judge_colour(data.clips)
        assert torch.equal(motion["direction"], data.labels["direction"])
        assert torch.equal(motion["speed"], data.labels["speed"])
        assert torch.equal(colour["colour"], data.labels["colour"]) and colour["colour_constant"].all()


def test_empty_frames_and_a_colour_change_are_caught():
    data = make_clips("test", 2, seed=0)
    clips = data.clips.clone()
    clips[0, 3] = 0  # the shape vanishes in frame 3
    clips[1, 5] = clips[1, 5].flip(0)  # frame 5 of clip 1 has its colour channels reversed
    assert torch.isnan(centroid_track(clips)[0, 3]).all()
    assert judge_motion(clips)["direction"][0] == data.labels["direction"][0]  # first and last frames still there
    clips[0, -1] = 0
    assert judge_motion(clips)["direction"][0] == -1 and judge_motion(clips)["speed"][0] == -1
    assert frame_colours(clips)[0, 3] == -1
    verdict = judge_colour(clips)
    assert not verdict["colour_constant"][0] and not verdict["colour_constant"][1]
    assert verdict["colour"][1] == data.labels["colour"][1]  # one frame in eight does not change the majority


def test_bad_requests_say_what_to_do():
    with pytest.raises(ValueError, match="Unknown split 'valid'"):
        make_clips("valid", 4)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        make_clips("train", 0)
    with pytest.raises(ValueError, match="frames must be an integer >= 2"):
        make_clips("train", 4, frames=1)
    with pytest.raises(ValueError, match="multiple of 4"):
        make_clips("train", 4, image_size=30)
    with pytest.raises(ValueError, match="cannot stay inside"):
        make_clips("train", 50, frames=16, image_size=16)
    clips = make_clips("test", 2).clips
    with pytest.raises(ValueError, match=r"\(N, T, 3, H, W\).*clips\[None\]"):
        judge_motion(clips[0])
    with pytest.raises(ValueError, match=r"\(N, T, 3, H, W\)"):
        judge_colour(clips[:, :, :1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        centroid_track(clips * 2)
