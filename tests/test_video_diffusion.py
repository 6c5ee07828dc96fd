"""Chapter 20's text-to-video model: the video U-Net is chapter 13's U-Net frame by frame until its temporal
layers learn, its frames meet only through those layers, and the pipeline turns prompts into clips."""

import pytest
import torch

from genai_lib.data.caption_grammar import CaptionTokenizer
from genai_lib.data.clips import CLIP_GRAMMAR, make_clips
from genai_lib.diffusion import NoiseSchedule
from genai_lib.models.latent_diffusion import CaptionConditionedUNet
from genai_lib.models.text_encoder import TextEncoder, TextEncoderConfig
from genai_lib.models.unet import UNet, UNetConfig
from genai_lib.models.video_diffusion import TextToVideoDiffusion, VideoUNet
from genai_lib.models.vqvae import VQVAE, VQVAEConfig

CONFIG = UNetConfig(
    image_shape=(4, 8, 8),
    base_channels=16,
    channel_mults=(1, 2),
    context_dim=16,
    attention_positions=True,
    attention_levels=2,
    pooled_context=True,
)


def video_unet(seed=0, frames=4):
    torch.manual_seed(seed)
    return VideoUNet(CONFIG, frames).eval()


def scramble(module, seed=1):
    """Random weights everywhere, the zero-initialised ones too: a stand-in for a trained network."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.1)


def test_an_untrained_video_unet_is_the_image_unet_on_every_frame():
    image = UNet(CONFIG).eval()
    scramble(image)
    video = video_unet()
    with torch.no_grad():
        video.frame_emb.zero_()  # the frame vectors aside: they tell the frames apart on purpose
    result = video.load_state_dict(image.state_dict(), strict=False)
    assert not result.unexpected_keys and all(".temporal." in k or k == "frame_emb" for k in result.missing_keys)
    x, t, context = torch.randn(2, 4, 4, 8, 8), torch.tensor([3, 40]), torch.randn(2, 5, 16)
    with torch.no_grad():
        per_frame = torch.stack([image(x[:, f], t, context) for f in range(4)], dim=1)
        assert torch.allclose(video(x, t, context), per_frame, atol=1e-5)


def test_frames_meet_only_through_the_temporal_layers():
    video = video_unet()
    scramble(video)
    x, context = torch.randn(1, 4, 4, 8, 8), torch.randn(1, 5, 16)
    y = x.clone()
    y[0, 0] += 1.0  # change the first frame only
    with torch.no_grad():
        moved = (video(y, 10, context) - video(x, 10, context))[0].flatten(1).abs().amax(1)  # (T,)
        assert (moved[1:] > 1e-4).all()  # the other frames hear of it
        for module in video.modules():
            if hasattr(module, "attention") and hasattr(module.attention, "attn"):
                module.attention.attn.proj.weight.zero_()
                module.attention.attn.proj.bias.zero_()
        moved = (video(y, 10, context) - video(x, 10, context))[0].flatten(1).abs().amax(1)
        assert moved[0] > 1e-4 and (moved[1:] == 0).all()  # without them each frame is on its own


def test_the_condition_and_the_time_are_shared_by_the_frames_of_a_clip():
    video = video_unet()
    scramble(video)
    x = torch.randn(1, 4, 4, 8, 8).expand(2, -1, -1, -1, -1)  # two identical clips
    context = torch.randn(2, 5, 16)
    with torch.no_grad():
        out = video(x, torch.tensor([7, 7]), (context, torch.zeros(2, 5, dtype=torch.bool)))
        assert not torch.allclose(out[0], out[1])  # the captions differ, so do the predictions
        same = video(x, 7, context[:1].expand(2, -1, -1))
        assert torch.allclose(same[0], same[1], atol=1e-6)
        assert torch.equal(video(x, 7, context, emb_offset=torch.zeros(2, 64)), video(x, 7, context))
        shifted = video(x, 7, context, emb_offset=torch.stack([torch.zeros(64), torch.ones(64)]))
        assert torch.equal(shifted[0], video(x, 7, context)[0]) and not torch.allclose(shifted[1], out[1])


def tiny_model(frames=4):
    tok = CaptionTokenizer(CLIP_GRAMMAR)
    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(image_shape=(3, 32, 32), hidden=8, codebook_size=8, code_dim=4))
    encoder = TextEncoder(
        TextEncoderConfig(vocab_size=tok.vocab_size, max_len=tok.length, n_embd=16, n_layer=0, pad_id=tok.pad_id)
    )
    unet = VideoUNet(UNetConfig(**{**CONFIG.__dict__, "image_shape": vq.config.latent_shape}), frames)
    return TextToVideoDiffusion(CaptionConditionedUNet(encoder, unet), tok, NoiseSchedule(50), autoencoder=vq)


def test_prompts_become_clips_and_cached_latents_give_the_same_loss():
    model = tiny_model()
    clips = make_clips("train", 3, seed=0, frames=4)
    model.fit_latent_scale(clips.clips.flatten(0, 1))
    z = model.to_latent(clips.clips)
    assert z.shape == (3, 4, 4, 8, 8)
    ids = model.tokenizer.encode(clips.captions)
    a = model.loss(clips.clips, ids, generator=torch.Generator().manual_seed(5))
    b = model.latent_loss(z, ids, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    out = model.eval().generate(clips.captions[:2], num_inference_steps=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 4, 3, 32, 32) and 0 <= out.min() and out.max() <= 1
    assert model.from_latent(z).shape == clips.clips.shape


def test_bad_input_says_what_to_do():
    video = video_unet()
    with pytest.raises(ValueError, match=r"clips x_t of shape \(B, 4, 4, 8, 8\)"):
        video(torch.randn(2, 4, 8, 8), 3, torch.randn(2, 5, 16))  # a batch of images, not clips
    with pytest.raises(ValueError, match=r"clips x_t of shape"):
        video(torch.randn(2, 6, 4, 8, 8), 3, torch.randn(2, 5, 16))  # six frames for a four-frame U-Net
    with pytest.raises(ValueError, match="one condition per clip"):
        video(torch.randn(2, 4, 4, 8, 8), 3, torch.randn(3, 5, 16))
    with pytest.raises(ValueError, match="frames must be an integer >= 2"):
        VideoUNet(CONFIG, 1)
    with pytest.raises(ValueError, match="needs a VideoUNet"):
        model = tiny_model()
        TextToVideoDiffusion(
            CaptionConditionedUNet(model.denoiser.text_encoder, UNet(model.denoiser.unet.config)),
            model.tokenizer,
            NoiseSchedule(50),
        )
    with pytest.raises(ValueError, match=r"Expected latents of shape \(B, 4, 4, 8, 8\)"):
        tiny_model().from_latent(torch.randn(2, 4, 8, 8))
