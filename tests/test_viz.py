import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from genai_lib import viz  # noqa: E402
from genai_lib.train import History  # noqa: E402


def test_image_grid_draws_grey_and_colour_batches():
    ax = viz.image_grid(torch.rand(10, 1, 8, 8), title="digits")
    grid = ax.images[0].get_array()
    assert grid.shape[2] == 3 and ax.get_title() == "digits"
    ax = viz.image_grid(torch.rand(4, 3, 5, 5) * 2 - 1, value_range=(-1, 1), nrow=4)
    assert ax.images[0].get_array().shape[1] == 4 * 5 + 5  # 4 images of width 5, 1-pixel padding


def test_image_grid_rejects_shapes_it_cannot_draw():
    with pytest.raises(ValueError, match=r"expects \(B, C, H, W\) with C = 1 or 3, got shape \(2, 4, 8, 8\)"):
        viz.image_grid(torch.rand(2, 4, 8, 8))


def test_plot_history_draws_one_line_per_key():
    h = History()
    for step in range(1, 6):
        h.log(step, {"loss": 1 / step, "val_loss": 1.2 / step})
    ax = viz.plot_history(h, logy=True)
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "val_loss"]
    with pytest.raises(KeyError, match="Nothing was logged under 'acc'"):
        viz.plot_history(h, ["acc"])


def test_plot_density_2d_shades_a_normalised_density():
    def log_prob(x):
        return torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2)).log_prob(x)

    ax = viz.plot_density_2d(log_prob, lim=4.0, n=101, samples=torch.randn(50, 2))
    density = ax.images[0].get_array()
    cell = (8.0 / 100) ** 2
    assert abs(density.sum() * cell - 1.0) < 0.01  # integrates to ~1 over [-4, 4]^2


def test_interact_draws_every_static_setting_when_widgets_are_off(monkeypatch):
    monkeypatch.setenv("GENAI_WIDGETS", "off")
    assert not viz.widgets_enabled()
    drawn = []
    viz.interact(
        lambda t, k: drawn.append((t, k)), static=[dict(t=0.0, k=1), dict(t=1.0, k=2)], t=(0.0, 1.0, 0.1), k=(1, 4)
    )
    assert drawn == [(0.0, 1), (1.0, 2)]


def test_interact_is_off_outside_a_notebook_kernel(monkeypatch):
    monkeypatch.delenv("GENAI_WIDGETS", raising=False)
    assert not viz.widgets_enabled()  # pytest is not an IPython kernel


def test_interact_needs_a_static_setting():
    with pytest.raises(ValueError, match="at least one static setting"):
        viz.interact(lambda t: None, static=[], t=(0.0, 1.0))
