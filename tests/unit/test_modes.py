"""Mode coverage on exact cases (docs/protocols.md)."""

import math

import numpy as np
import pytest
import torch

from ganbench.data.toy import Grid25 as grid25
from ganbench.data.toy import Ring8 as ring8
from ganbench.data.toy import batch_generator
from ganbench.evaluation.modes import mode_coverage


@pytest.mark.parametrize("make", [ring8, grid25])
def test_real_data_captures_every_mode(make):
    ds = make()
    pts = ds.sample(2500, batch_generator(123, 0)).numpy()
    m = mode_coverage(pts, ds.centres, ds.sigma)
    assert m["modes"] == m["modes_total"] == len(ds.centres)
    # within 3σ per axis-standardised radius in 2-D: P(χ²₂ < 9) = 1 − e^{−4.5} ≈ 98.9 %
    assert m["hq_percent"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.7)
    assert m["reverse_kl"] == pytest.approx(0.0, abs=0.02)


@pytest.mark.parametrize("make", [ring8, grid25])
def test_all_points_on_one_mode(make):
    ds = make()
    pts = np.repeat(ds.centres[:1], 2500, axis=0)
    m = mode_coverage(pts, ds.centres, ds.sigma)
    assert m["modes"] == 1
    assert m["hq_percent"] == 100.0
    assert m["reverse_kl"] == pytest.approx(math.log(len(ds.centres)))


def test_no_hq_point_gives_nan_kl():
    ds = ring8()
    m = mode_coverage(np.zeros((100, 2)), ds.centres, ds.sigma)
    assert m["modes"] == 0 and m["hq_percent"] == 0.0 and math.isnan(m["reverse_kl"])


def test_hq_threshold_is_three_sigma_strict():
    ds = ring8()
    inside = ds.centres[0] + np.array([2.999 * ds.sigma, 0])
    outside = ds.centres[0] + np.array([3.001 * ds.sigma, 0])
    assert mode_coverage(inside[None], ds.centres, ds.sigma)["hq_percent"] == 100.0
    assert mode_coverage(outside[None], ds.centres, ds.sigma)["hq_percent"] == 0.0


def test_two_modes_half_half_kl():
    ds = grid25()
    pts = np.concatenate([np.repeat(ds.centres[:1], 50, 0), np.repeat(ds.centres[1:2], 50, 0)])
    m = mode_coverage(pts, ds.centres, ds.sigma)
    assert m["modes"] == 2 and m["reverse_kl"] == pytest.approx(math.log(25 / 2))


def test_protocol_geometry():
    r, g = ring8(), grid25()
    assert r.sigma == 0.01 and g.sigma == 0.05
    assert np.allclose(np.linalg.norm(r.centres, axis=1), 1.0)
    assert sorted(set(g.centres[:, 0])) == [-4, -2, 0, 2, 4]


def test_nan_points_rejected():
    ds = ring8()
    with pytest.raises(Exception, match="NaN"):
        mode_coverage(np.full((3, 2), np.nan), ds.centres, ds.sigma)


def test_stream_is_a_function_of_seed_and_index():
    ds = ring8()
    a = [x for x, _ in zip((b for b, _ in ds.stream(8, 5)), range(4))]
    b = next(ds.stream(8, 5, start=2))[0]
    assert torch.equal(a[2], b)
    assert not torch.equal(a[0], a[1])
