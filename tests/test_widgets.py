"""Widget builders work headless: each is built, drawn once, and its update callback runs with Agg."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from itslab import widgets
from itslab.scaling import pass_at_k  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def curves():
    """Coverage curves at two temperatures and two pool sizes n (precomputed once)."""
    rng = np.random.default_rng(0)
    parts = []
    for temperature in (0.6, 1.0):
        for n in (16, 64):
            flags = rng.random((50, n)) < rng.beta(0.3 * temperature, 2.0, (50, 1))
            parts.append(pass_at_k(flags).assign(temperature=temperature, n=n))
    return pd.concat(parts, ignore_index=True)


def test_slider_plot_over_frame_and_dict():
    df = curves()
    calls = []

    def plot(part, **values):
        calls.append((len(part), values))
        fig, ax = plt.subplots()
        ax.plot(part["k"], part["value"])
        return fig, ax

    sp = widgets.slider_plot(df, plot, temperature=None, n=None)
    assert calls[-1] == (7, {"temperature": 1.0, "n": 64})  # drawn once with the last values
    fig, ax = sp.update(n=16)
    assert calls[-1] == (5, {"temperature": 1.0, "n": 16}) and len(ax.lines) == 1
    sp.sliders["temperature"].value = 0.6  # moving a slider runs the callback
    assert calls[-1][1] == {"temperature": 0.6, "n": 16}
    with pytest.raises(ValueError, match="no slider"):
        sp.update(noise=0.1)
    d = widgets.slider_plot({1: "a", 2: "b"}, lambda s, key: (calls.append(s), plt.subplots())[1], key=None)
    d.update(key=1)
    assert calls[-1] == "a"
    with pytest.raises(ValueError, match="at least one slider"):
        widgets.slider_plot(df, plot)


def test_scaling_explorer_budget_n_temperature():
    sp = widgets.scaling_explorer(curves(), temperature=None, n=None)
    fig, ax = sp.update(budget=8, n=64, temperature=0.6)
    assert max(ax.lines[0].get_xdata()) == 8 and "budget=8" in ax.get_title()
    assert set(sp.sliders) == {"budget", "temperature", "n"}


def test_fit_explorer_precomputes_fits():
    curve = curves().query("temperature == 1.0 and n == 64")
    sp = widgets.fit_explorer(curve)
    fig, ax = sp.update(law="exp_power_law", fit_max=16)
    assert "held-out" in ax.get_title() and len(ax.lines) == 3  # data, fitted law, cut-off line
    assert sp.values == {"law": "exp_power_law", "fit_max": 16.0}


def test_verifier_explorer_noise_slider():
    sp = widgets.verifier_explorer(np.array([0.87, 0.13]), weights=[0.58, 0.42])
    fig, ax = sp.update(noise=0.2)
    assert "FPR=0.2" in ax.get_title() and ax.get_ylim() == (0, 1)


def test_genealogy_explorer_particles_slider():
    infos = {
        n: [
            {"ancestors": tuple(range(n)), "weights": (1 / n,) * n},
            {"ancestors": tuple([0] * n), "weights": tuple(np.linspace(1, 2, n) / np.linspace(1, 2, n).sum())},
        ]
        for n in (2, 4, 8)
    }
    sp = widgets.genealogy_explorer(infos)
    fig, ax = sp.update(particles=4)
    assert len(ax.lines) == 4
    assert isinstance(sp.widget, widgets.w.VBox)


def test_genealogy_step_explorer_grows_the_tree_with_its_step_slider():
    infos = [
        {"ancestors": (0, 1, 2), "weights": (1 / 3,) * 3},
        {"ancestors": (0, 0, 1), "weights": (0.5, 0.25, 0.25)},
        {"ancestors": (1, 1, 2), "weights": (0.2, 0.3, 0.5)},
    ]
    sp = widgets.genealogy_step_explorer(infos)
    assert list(sp.sliders) == ["step"]
    _, ax = sp.update(step=2)
    two = len(ax.lines)
    _, ax = sp.update(step=3)
    assert len(ax.lines) == two + 3 and ax.get_xlim() == (-0.5, 2.5)
    with pytest.raises(ValueError, match="no step"):
        widgets.genealogy_step_explorer([{"ancestors": (0,)}])
