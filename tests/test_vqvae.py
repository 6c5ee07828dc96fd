import pytest
import torch

import genai_lib as gl
from genai_lib.data import Batches, load_images
from genai_lib.models.vqvae import VQVAE, VectorQuantizer, VQVAEConfig, vqvae_step


def small(**kw):
    return VQVAEConfig(image_shape=(1, 8, 8), hidden=32, codebook_size=16, code_dim=4, **kw)


def test_quantizer_picks_the_nearest_code_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    vq = VectorQuantizer(small(ema=False))
    z_e = torch.randn(2, 4, 3, 3, requires_grad=True)
    q = vq(z_e)
    flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, 4)
    brute = torch.cdist(flat, vq.codebook.detach()).argmin(1)
    assert torch.equal(q.indices.flatten(), brute)
    assert torch.allclose(q.z_q.detach(), vq.lookup(q.indices).detach())  # the forward value is the code
    (q.z_q * torch.arange(4.0).view(1, 4, 1, 1)).sum().backward()
    # straight-through: d z_q / d z_e is the identity
    assert torch.allclose(z_e.grad, torch.arange(4.0).view(1, 4, 1, 1).expand_as(z_e))


def test_ema_update_moves_codes_towards_their_assigned_vectors():
    torch.manual_seed(0)
    vq = VectorQuantizer(small(decay=0.5))
    target = vq.codebook[3].clone() + 1.0
    z_e = target.view(1, 4, 1, 1).expand(1, 4, 2, 2).clone()
    code = vq(z_e).indices[0, 0, 0].item()
    before = (vq.codebook[code] - target).norm()
    for _ in range(10):
        vq(z_e)
    assert (vq.codebook[code] - target).norm() < 0.05 * before


def test_dead_codes_are_revived_onto_encoder_outputs():
    torch.manual_seed(0)
    vq = VectorQuantizer(small())
    vq.cluster_size.zero_()
    vq.cluster_size[0] = 100.0  # only code 0 is used
    z_e = torch.randn(1, 4, 4, 4)
    assert vq.revive_dead_codes(z_e) == 15
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, 4)
    assert all((flat - vq.codebook[k]).norm(dim=1).min() < 1e-6 for k in range(1, 16))


def test_perplexity_counts_the_codes_in_use():
    vq = VectorQuantizer(small()).eval()
    codes = vq.codebook[torch.arange(16)].T.reshape(1, 4, 4, 4)  # every code exactly once
    assert vq(codes).perplexity.item() == pytest.approx(16, rel=1e-4)
    assert vq(vq.codebook[[2] * 16].T.reshape(1, 4, 4, 4)).perplexity.item() == pytest.approx(1, rel=1e-4)


def test_tokens_round_trip_and_errors():
    model = VQVAE(small()).eval()
    x = torch.rand(3, 1, 8, 8)
    idx = model.encode_to_indices(x)
    assert idx.shape == (3, 2, 2) and idx.dtype == torch.int64
    assert torch.allclose(model.decode_from_indices(idx), model(x).recon, atol=1e-6)
    with pytest.raises(ValueError, match=r"Token ids must be integers in \[0, 16\)"):
        model.decode_from_indices(torch.full((1, 2, 2), 16))
    with pytest.raises(ValueError, match="multiples of 4"):
        VQVAEConfig(image_shape=(1, 6, 6))
    with pytest.raises(ValueError, match=r"Expected images of shape \(B, 1, 8, 8\)"):
        model.encode(torch.rand(3, 3, 8, 8))


def test_training_through_fit_reconstructs_and_uses_many_codes():
    gl.setup(0, quiet=True)
    x = load_images("digits").x
    model = VQVAE(small())
    history = gl.fit(
        vqvae_step(model, revive_every=50),
        models=model,
        optimizers=torch.optim.Adam(model.parameters(), lr=2e-3),
        data=Batches(x, batch_size=64),
        config=gl.TrainConfig(steps=300, log_every=20),
    )
    assert history["recon"][-1] < 0.8 * history["recon"][0]
    assert history["perplexity"][-1] > 4  # more than a handful of the 16 codes in use


def test_reconstruct_decodes_each_image_from_its_own_codes_and_leaves_the_mode_alone():
    model = VQVAE(small(ema=True)).train()
    before = model.quantizer.codebook.clone()
    x = torch.rand(3, 1, 8, 8)
    y = model.reconstruct(x)
    assert model.training  # back in training mode
    with torch.no_grad():
        expected = torch.sigmoid(model.decode_from_indices(model.encode_to_indices(x)))
    assert y.shape == x.shape and not y.requires_grad and 0 <= y.min() and y.max() <= 1
    assert torch.allclose(y, expected, atol=1e-6)
    assert torch.equal(before, model.quantizer.codebook)  # looking at a reconstruction moves no EMA code


def test_wrong_scale_and_wrong_code_width_are_clear_errors():
    model = VQVAE(VQVAEConfig(image_shape=(1, 8, 8), code_dim=4, codebook_size=16, hidden=8))
    with pytest.raises(ValueError, match=r"needs pixel values in \[0, 1\], got values from 0 to 255.*divide by 255"):
        model.encode(torch.arange(64.0).view(1, 1, 8, 8) * 255 / 63)
    with pytest.raises(ValueError, match=r"Expected quantised latents of shape \(B, 4, h, w\), got \(2, 16, 2, 2\)"):
        model.decode(torch.randn(2, 16, 2, 2))
