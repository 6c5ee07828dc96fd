"""Captioned data, the caption encoder, both text-to-image wrappers, and caption accuracy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genai_lib.data.caption_grammar import CAPTIONED_MNIST, SHAPES, CaptionTokenizer
from genai_lib.data.captions import load_captioned
from genai_lib.diffusion import NoiseSchedule
from genai_lib.metrics import caption_accuracy
from genai_lib.models.ar_text_to_image import ARTextToImage
from genai_lib.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from genai_lib.models.latent_diffusion import CaptionConditionedUNet, TextToImageDiffusion
from genai_lib.models.text_encoder import TextEncoder, TextEncoderConfig
from genai_lib.models.unet import UNet, UNetConfig
from genai_lib.models.vqvae import VQVAE, VQVAEConfig

TOK = CaptionTokenizer(SHAPES)
PROMPTS = ["a big red circle in the top left", "there is a tiny blue square at the lower right corner", ""]


@pytest.fixture(scope="module")
def shapes():
    return {split: load_captioned("shapes", split, 400, seed=3) for split in ("train", "test", "heldout")}


# ----- data ----------------------------------------------------------------------------------------------------


def test_shapes_are_deterministic_for_a_seed_and_differ_across_seeds():
    a, b, c = (load_captioned("shapes", "train", 50, seed=s) for s in (7, 7, 8))
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (50, 3, 32, 32) and 0 <= a.images.min() and a.images.max() <= 1


def test_captioned_mnist_is_deterministic_and_coloured():
    a, b = (load_captioned("captioned_mnist", "test", 30, seed=1, download=False) for _ in range(2))
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    for i in range(30):  # the colour named is the colour drawn: its channel is the brightest one
        names = a.label_names(i)
        assert CAPTIONED_MNIST.parse(a.captions[i]) == names
        if names["colour"] in ("red", "green", "blue"):
            brightest = a.images[i].sum(dim=(1, 2)).argmax().item()
            assert brightest == ("red", "green", "blue").index(names["colour"])


@pytest.mark.parametrize("split", ["train", "test", "heldout"])
def test_labels_match_captions(shapes, split):
    data = shapes[split]
    for i in range(len(data)):
        assert SHAPES.parse(data.captions[i]) == data.label_names(i), data.captions[i]


def test_the_drawn_object_sits_where_the_caption_says(shapes):
    data = shapes["train"]
    for i in range(100):
        mass = data.images[i].sum(0)  # (H, W)
        ys, xs = torch.nonzero(mass > 0.5, as_tuple=True)
        top, left = ys.float().mean() < 16, xs.float().mean() < 16
        pos = data.label_names(i)["position"]
        assert top == pos.startswith("top") and left == pos.endswith("left"), data.captions[i]


def test_held_out_combinations_never_appear_in_training(shapes):
    for split in ("train", "test"):
        data = shapes[split]
        assert not any(SHAPES.is_held_out(data.label_names(i)) for i in range(len(data)))
    held = shapes["heldout"]
    assert all(SHAPES.is_held_out(held.label_names(i)) for i in range(len(held)))
    # Each held-out colour and shape is still seen in training, with other partners.
    seen = {
        (shapes["train"].label_names(i)["shape"], shapes["train"].label_names(i)["colour"])
        for i in range(len(shapes["train"]))
    }
    for combo in SHAPES.held_out:
        assert any(s == combo["shape"] for s, _ in seen) and any(c == combo["colour"] for _, c in seen)


def test_unknown_dataset_split_and_words_are_named():
    with pytest.raises(ValueError, match="available: captioned_mnist, shapes"):
        load_captioned("cats")
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        load_captioned("shapes", "val")
    with pytest.raises(ValueError, match="'purple' is not a word of the 'shapes' captions. The accepted words are:"):
        TOK.encode(["a purple circle"])
    with pytest.raises(ValueError, match="list of captions is empty"):
        TOK.encode([])
    with pytest.raises(ValueError, match="takes a list of captions"):
        TOK.encode("a red circle")


def test_tokenizer_round_trips_and_the_empty_caption_is_bos_only():
    ids = TOK.encode(PROMPTS)
    assert ids.shape == (3, TOK.length)
    assert TOK.decode(ids[0]) == PROMPTS[0]
    assert ids[2, 0] == 1 and (ids[2, 1:] == TOK.pad_id).all()
    assert SHAPES.parse("A BIG, red circle!") == {"size": "large", "colour": "red", "shape": "circle"}


# ----- caption encoder --------------------------------------------------------------------------------------


def test_text_encoder_ignores_padding():
    enc = TextEncoder(TextEncoderConfig(vocab_size=TOK.vocab_size, max_len=20, n_embd=32, n_head=4)).eval()
    ids = TOK.encode(PROMPTS[:1])  # (1, S)
    longer = F.pad(ids, (0, 5), value=TOK.pad_id)  # more padding after the words
    n = int((ids != TOK.pad_id).sum())
    out, pad = enc(ids)
    out2, _ = enc(longer)
    assert out.shape == (1, TOK.length, 32) and pad.sum() == TOK.length - n
    torch.testing.assert_close(out[:, :n], out2[:, :n], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="token ids of shape"):
        enc(ids.float())


# ----- the two wrappers -------------------------------------------------------------------------------------


def tiny_vq():
    torch.manual_seed(0)
    return VQVAE(VQVAEConfig(image_shape=(3, 32, 32), hidden=16, codebook_size=16, code_dim=4))


def tiny_diffusion(vq):
    torch.manual_seed(0)
    enc = TextEncoder(TextEncoderConfig(vocab_size=TOK.vocab_size, max_len=TOK.length, n_embd=32, n_layer=1))
    shape = (4, 8, 8) if vq is not None else (3, 32, 32)
    unet = UNet(UNetConfig(image_shape=shape, base_channels=16, channel_mults=(1, 2), context_dim=32))
    return TextToImageDiffusion(CaptionConditionedUNet(enc, unet), TOK, NoiseSchedule(50), autoencoder=vq)


@pytest.mark.parametrize("space", ["latent", "pixel"])
def test_diffusion_turns_n_prompts_into_n_images(space, shapes):
    model = tiny_diffusion(tiny_vq() if space == "latent" else None)
    if space == "latent":
        scale = model.fit_latent_scale(shapes["train"].images[:64])
        assert model.to_latent(shapes["train"].images[:64]).std().item() == pytest.approx(1.0, rel=1e-4)
        assert scale > 0
    loss = model.loss(shapes["train"].images[:8], TOK.encode(shapes["train"].captions[:8]))
    assert loss.item() > 0 and loss.requires_grad
    images = model.generate(PROMPTS, num_inference_steps=3, generator=torch.Generator().manual_seed(0))
    assert images.shape == (3, 3, 32, 32) and 0 <= images.min() and images.max() <= 1


def test_training_on_latents_encoded_once_is_training_on_the_images(shapes):
    from genai_lib.text_to_image import loss_step
    from genai_lib.train import TrainConfig, fit

    images, ids = shapes["train"].images[:24], TOK.encode(shapes["train"].captions[:24])
    model = tiny_diffusion(tiny_vq())
    model.fit_latent_scale(images)
    z_0 = model.latents_of(images, batch_size=10)  # three batches, the last one short
    assert z_0.shape == (24, 4, 8, 8)
    torch.testing.assert_close(z_0, model.to_latent(images), atol=1e-6, rtol=1e-6)
    losses = []
    for batch, latents in (((images, ids), False), ((z_0, ids), True)):
        torch.manual_seed(0)  # the same t, ε and dropped captions for both
        history = fit(
            loss_step(model, p_uncond=0.5, latents=latents),
            models=model,
            optimizers=torch.optim.SGD(model.denoiser.parameters(), lr=0.0),
            data=lambda batch=batch: batch,
            config=TrainConfig(steps=1, device="cpu", progress=False),
        )
        losses.append(history["loss"][0])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    with pytest.raises(ValueError, match="latents=True trains a diffusion model"):
        loss_step(tiny_ar(), p_uncond=0.1, latents=True)


def test_an_empty_prompt_is_the_unconditional_diffusion_model():
    model = tiny_diffusion(tiny_vq())
    with torch.no_grad():
        for p in model.denoiser.unet.conv_out.parameters():  # zero-initialised: give it something to say
            p.normal_(0, 0.1)

    def draw(w, prompts):
        return model.generate(
            prompts, guidance_scale=w, num_inference_steps=4, generator=torch.Generator().manual_seed(1)
        )

    torch.testing.assert_close(draw(5.0, [""]), draw(0.0, [""]), atol=1e-5, rtol=1e-5)
    # ...while a real caption changes the guided sample.
    assert not torch.allclose(draw(5.0, PROMPTS[:1]), draw(0.0, PROMPTS[:1]), atol=1e-3)


def test_latent_diffusion_refuses_latents_of_the_wrong_shape():
    model = tiny_diffusion(tiny_vq())
    with pytest.raises(ValueError, match=r"Expected latents of shape \(B, 4, 8, 8\)"):
        model.from_latent(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="context_dim"):
        CaptionConditionedUNet(
            model.denoiser.text_encoder, UNet(UNetConfig(image_shape=(4, 8, 8), base_channels=16, context_dim=64))
        )
    with pytest.raises(ValueError, match="at least one caption"):
        model.generate([])
    with pytest.raises(ValueError, match="not a word of the 'shapes' captions"):
        model.generate(["a red dragon"])


def tiny_ar():
    torch.manual_seed(0)
    return ARTextToImage(TOK, tiny_vq(), n_layer=1, n_head=2, n_embd=32)


def test_ar_loss_counts_image_tokens_only(shapes):
    model = tiny_ar()
    ids = TOK.encode(shapes["train"].captions[:4])
    tokens = model.image_tokens(shapes["train"].images[:4])
    assert tokens.shape == (4, 8, 8)
    x, y = model.sequences(ids, tokens)
    assert x.shape == y.shape == (4, TOK.length + 64 - 1)
    assert (y[:, : TOK.length - 1] == -1).all() and (y[:, TOK.length - 1 :] >= model.offset).all()
    logits, _ = model.gpt(x)
    manual = F.cross_entropy(logits[:, TOK.length - 1 :].flatten(0, 1), y[:, TOK.length - 1 :].flatten())
    torch.testing.assert_close(model.loss(ids, tokens, p_uncond=0.0), manual)
    with pytest.raises(ValueError, match=r"Image tokens must have shape \(B, 8, 8\)"):
        model.sequences(ids, tokens[:, :4])


def test_ar_turns_n_prompts_into_n_images_and_empty_is_unconditional():
    model = tiny_ar()
    images = model.generate(PROMPTS, generator=torch.Generator().manual_seed(0))
    assert images.shape == (3, 3, 32, 32) and 0 <= images.min() and images.max() <= 1

    def draw(w, prompts):
        return model.generate_tokens(prompts, guidance_scale=w, generator=torch.Generator().manual_seed(2))

    assert torch.equal(draw(4.0, [""]), draw(0.0, [""]))
    with pytest.raises(ValueError, match="at least one caption"):
        model.generate([])
    with pytest.raises(ValueError, match="temperature"):
        model.generate(PROMPTS, temperature=-1.0)


# ----- measuring -------------------------------------------------------------------------------------------


def test_caption_accuracy_per_attribute_and_exact():
    asked = {"shape": torch.tensor([0, 1, 2, 0]), "colour": torch.tensor([1, 1, 1, 1])}
    predicted = {"shape": torch.tensor([0, 1, 0, 0]), "colour": torch.tensor([1, 0, 1, 1])}
    acc = caption_accuracy(predicted, asked)
    assert acc == {"shape": 0.75, "colour": 0.75, "exact": 0.5}
    with pytest.raises(ValueError, match="same attributes"):
        caption_accuracy({"shape": predicted["shape"]}, asked)


def test_attribute_classifier_has_a_head_per_attribute_and_checks_shapes():
    model = AttributeClassifier(AttributeClassifierConfig("shapes"))
    out = model(torch.rand(2, 3, 32, 32))
    assert {a: tuple(v.shape) for a, v in out.items()} == {
        "shape": (2, 3),
        "colour": (2, 4),
        "size": (2, 2),
        "position": (2, 4),
    }
    assert set(model.predict(torch.rand(3, 3, 32, 32))) == set(SHAPES.attributes)
    with pytest.raises(ValueError, match=r"expects RGB images \(B, 3, 32, 32\)"):
        model(torch.rand(2, 1, 28, 28))


def test_attribute_classifier_features_are_the_input_of_its_heads():
    model = AttributeClassifier(AttributeClassifierConfig("shapes")).train()
    x = torch.rand(5, 3, 32, 32)
    f = model.features(x, batch_size=2)  # three batches, concatenated in order
    assert f.shape == (5, 128) and model.training  # the mode is restored
    with torch.no_grad():
        model.eval()
        assert torch.allclose(model.heads["colour"](f), model(x)["colour"], atol=1e-5)
    with pytest.raises(ValueError, match=r"expects RGB images \(B, 3, 32, 32\)"):
        model.features(torch.rand(2, 1, 28, 28))


def test_an_encoder_without_blocks_gives_each_word_a_vector_of_its_own():
    """n_layer=0 (the standard budget's caption encoder): a word's vector ignores the other words."""
    torch.manual_seed(0)
    enc = TextEncoder(TextEncoderConfig(vocab_size=TOK.vocab_size, max_len=TOK.length, n_embd=32, n_layer=0)).eval()
    mixing = TextEncoder(TextEncoderConfig(vocab_size=TOK.vocab_size, max_len=TOK.length, n_embd=32, n_layer=1)).eval()
    words = "a big red circle in the top left"
    ids = TOK.encode([words, words.replace("circle", "square")])  # (2, S): only the fourth word differs
    red = words.split().index("red") + 1  # after <bos>
    with torch.no_grad():
        alone, mixed = enc(ids)[0], mixing(ids)[0]
    torch.testing.assert_close(alone[0, red], alone[1, red])
    assert (mixed[0, red] - mixed[1, red]).norm() > 1e-3  # a block lets "circle" reach "red"
    with pytest.raises(ValueError, match="n_layer must be 0 or more"):
        TextEncoderConfig(vocab_size=TOK.vocab_size, n_layer=-1)
