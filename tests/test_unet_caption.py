"""The U-Net's caption options: cross-attention at several levels and a pooled caption in the time embedding."""

import pytest
import torch

from genai_lib.models.unet import SpatialTransformer, UNet, UNetConfig
from tests.test_unet import randomised

CAPTIONED = UNetConfig(
    image_shape=(4, 8, 8),
    base_channels=16,
    channel_mults=(1, 2, 2),
    n_heads=2,
    context_dim=12,
    attention_positions=True,
)


def test_attention_levels_put_transformer_blocks_on_that_many_of_the_lowest_levels():
    def widths(cfg):
        return sorted(m.pos.size(0) for m in UNet(cfg).modules() if isinstance(m, SpatialTransformer))

    assert set(widths(CAPTIONED)) == {2 * 2}  # the lowest level only (8 -> 4 -> 2)
    assert set(widths(UNetConfig(**{**CAPTIONED.__dict__, "attention_levels": 2}))) == {2 * 2, 4 * 4}
    assert set(widths(UNetConfig(**{**CAPTIONED.__dict__, "attention_levels": 3}))) == {2 * 2, 4 * 4, 8 * 8}


def test_the_pooled_caption_reaches_the_output_and_ignores_padding():
    torch.manual_seed(0)
    model = randomised(UNet(UNetConfig(**{**CAPTIONED.__dict__, "pooled_context": True}))).eval()
    x, context = torch.randn(2, 4, 8, 8), torch.randn(2, 5, 12)
    pad = torch.tensor([[False, False, False, True, True]] * 2)
    out = model(x, 3, (context, pad))
    changed = context.clone()
    changed[:, 3:] = torch.randn(2, 2, 12)  # only the padded tokens
    assert torch.allclose(model(x, 3, (changed, pad)), out, atol=1e-6)
    # Without cross-attention's say, the pooled vector alone still moves the prediction.
    assert model.context_emb is not None
    with torch.no_grad():
        model.context_emb.weight.mul_(0)
        model.context_emb.bias.mul_(0)
    assert not torch.allclose(model(x, 3, (context, pad)), out, atol=1e-4)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"attention_levels": 0}, "attention_levels must be in \\[1, 3\\]"),
        ({"attention_levels": 4}, "attention_levels must be in \\[1, 3\\]"),
        ({"context_dim": None, "pooled_context": True}, "pooled_context pools the context: it needs context_dim"),
    ],
)
def test_bad_caption_options_say_what_to_do(fields, message):
    with pytest.raises(ValueError, match=message):
        UNetConfig(**{**CAPTIONED.__dict__, **fields})
