"""Compare ganbench's StyleGAN3 generator with NVIDIA's own on CPU (not run by CI).

    .venv/bin/python scripts/compare_nvidia_stylegan3.py /path/to/NVlabs/stylegan3

Builds NVIDIA's ``training.networks_stylegan3.Generator`` from a local checkout (their ops fall back
to the reference implementations on CPU) for a few small configurations, builds ours through the
registered ``NVIDIA_NETWORKS`` builder from the same constructor arguments, checks that the state
dict keys, shapes and buffers agree, copies NVIDIA's state dict into ours (strict) and prints the
largest absolute difference of the outputs for fixed z, c and truncation ψ, with the magnitude EMAs
and w_avg set away from their initial values so they matter.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

CONFIGS = [
    dict(
        z_dim=16,
        c_dim=0,
        w_dim=32,
        img_resolution=16,
        img_channels=1,
        channel_base=512,
        channel_max=32,
        num_layers=4,
        margin_size=2,
    ),
    dict(
        z_dim=16,
        c_dim=5,
        w_dim=32,
        img_resolution=32,
        img_channels=3,
        channel_base=1024,
        channel_max=32,
        mapping_kwargs=dict(num_layers=3),
        use_radial_filters=True,
    ),
    dict(
        z_dim=8,
        c_dim=0,
        w_dim=16,
        img_resolution=16,
        img_channels=3,
        channel_base=256,
        channel_max=16,
        num_layers=6,
        num_critical=1,
        conv_kernel=1,
        filter_size=4,
        lrelu_upsampling=1,
        conv_clamp=None,
        output_scale=1.0,
        first_cutoff=1.5,
        margin_size=4,
    ),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nvidia_dir", help="a local checkout of github.com/NVlabs/stylegan3")
    args = ap.parse_args()
    sys.path.insert(0, args.nvidia_dir)
    from training.networks_stylegan3 import Generator as NvGenerator  # type: ignore[import-not-found]

    from ganbench.registries import NVIDIA_NETWORKS, load_all

    load_all()
    build = NVIDIA_NETWORKS.get("training.networks_stylegan3.Generator")
    worst = 0.0
    for i, kwargs in enumerate(CONFIGS):
        torch.manual_seed(i)
        nv = NvGenerator(**kwargs).eval()
        ours = build((), dict(kwargs)).eval()
        sd_nv, sd_ours = nv.state_dict(), ours.state_dict()
        if list(sd_nv) != list(sd_ours) or any(sd_nv[k].shape != sd_ours[k].shape for k in sd_nv):
            print(f"config {i}: state dicts differ:", sorted(set(sd_nv) ^ set(sd_ours)))
            return 1
        buf_diff = max(
            float((sd_nv[k] - sd_ours[k]).abs().max()) for k in sd_nv if k.endswith(("_filter", "transform"))
        )
        with torch.no_grad():  # move the EMAs off their initial values so that they take part
            for k, v in nv.state_dict().items():
                if k.endswith("magnitude_ema"):
                    v.fill_(float(np.random.RandomState(len(k)).uniform(0.5, 2.0)))
                if k.endswith("w_avg"):
                    v.normal_()
        ours.load_state_dict(nv.state_dict(), strict=True)
        z = torch.randn(4, kwargs["z_dim"])
        y = torch.arange(4) % max(kwargs["c_dim"], 1)
        c = torch.nn.functional.one_hot(y, kwargs["c_dim"]).float() if kwargs["c_dim"] else torch.zeros(4, 0)
        for psi in (1.0, 0.7):
            with torch.no_grad():
                a = nv(z, c, truncation_psi=psi)
                b = ours(z, y if kwargs["c_dim"] else None, truncation_psi=psi)
                # ours clamps in eval mode; compare the raw output through the synthesis network
                ws = ours.mapping(z, ours.labels(y if kwargs["c_dim"] else None), psi)
                raw = ours.synthesis(ws)
            diff = float((a - raw).abs().max())
            worst = max(worst, diff)
            print(
                f"config {i} psi={psi}: {len(sd_nv)} state-dict entries equal in keys/shapes, "
                f"filter/transform buffers max diff {buf_diff:.2e}; output |max| {float(a.abs().max()):.3f}, "
                f"max abs diff {diff:.3e} (clamped: {float((a.clamp(-1, 1) - b).abs().max()):.3e})"
            )
    print(f"worst max abs difference: {worst:.3e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
