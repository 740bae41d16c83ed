"""Compare ganbench's StyleGAN2 with NVIDIA's own networks (stylegan2-ada-pytorch), on the CPU.

Not run by CI and never committed with NVIDIA's code: it imports their ``training.networks`` from a
local checkout given as the argument, builds their Generator / Discriminator for a few small
configurations, copies the state dicts into ganbench's networks (``strict=True``) and prints the max
abs differences of the outputs for fixed z, c, ψ ∈ {1, 0.7}, noise mode const.

    python scripts/compare_nvidia_stylegan2.py /tmp/sg2ada
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

import torch

from ganbench.models.stylegan2 import Discriminator, build_nvidia_generator

CONFIGS: list[dict[str, Any]] = [
    # (G kwargs, D kwargs): small widths so the comparison runs in seconds on a CPU
    {
        "name": "skip G / resnet D, 32², conditional, conv_clamp 256",
        "G": dict(z_dim=32, c_dim=5, w_dim=32, img_resolution=32, img_channels=3,
                  mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=1024, channel_max=64, num_fp16_res=4, conv_clamp=256)),
        "D": dict(c_dim=5, img_resolution=32, img_channels=3, channel_base=1024, channel_max=64,
                  num_fp16_res=4, conv_clamp=256, epilogue_kwargs=dict(mbstd_group_size=4)),
    },
    {
        "name": "orig G / orig D, 16², unconditional",
        "G": dict(z_dim=16, c_dim=0, w_dim=24, img_resolution=16, img_channels=1,
                  mapping_kwargs=dict(num_layers=3),
                  synthesis_kwargs=dict(channel_base=512, channel_max=32, architecture="orig")),
        "D": dict(c_dim=0, img_resolution=16, img_channels=1, channel_base=512, channel_max=32,
                  architecture="orig", epilogue_kwargs=dict(mbstd_group_size=2, mbstd_num_channels=2)),
    },
    {
        "name": "resnet G / skip D, 64², unconditional",
        "G": dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=64, img_channels=3,
                  mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=512, channel_max=32, architecture="resnet")),
        "D": dict(c_dim=0, img_resolution=64, img_channels=3, channel_base=512, channel_max=32,
                  architecture="skip"),
    },
]  # fmt: skip


def compare(networks: Any, spec: dict[str, Any], seed: int = 0) -> dict[str, float]:
    torch.manual_seed(seed)
    theirs = networks.Generator(**spec["G"]).eval()
    with torch.no_grad():  # a non-zero w_avg and noise strengths, so truncation and noise are tested
        theirs.mapping.w_avg.normal_()
        for name, p in theirs.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
    ours = build_nvidia_generator((), spec["G"]).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(theirs.state_dict()), "state-dict key order differs"
    g = torch.Generator().manual_seed(seed + 1)
    n, c_dim = 4, spec["G"]["c_dim"]
    z = torch.randn(n, spec["G"]["z_dim"], generator=g)
    c = torch.nn.functional.one_hot(torch.arange(n) % c_dim, c_dim).float() if c_dim else torch.zeros(n, 0)
    out = {}
    with torch.no_grad():
        for psi in (1.0, 0.7):
            a = theirs(z, c, truncation_psi=psi, noise_mode="const", force_fp32=True)
            ws = ours.map_ws(z, c if c_dim else None, truncation_psi=psi)
            b = ours.synthesis(ws, noise_mode="const")
            out[f"G psi={psi}"] = (a - b).abs().max().item()
            out[f"G psi={psi} |img| max"] = a.abs().max().item()
    D_theirs = networks.Discriminator(**spec["D"]).eval()
    D_ours = Discriminator(**spec["D"]).eval()
    D_ours.load_state_dict(D_theirs.state_dict(), strict=True)
    x = torch.randn(
        n, spec["D"]["img_channels"], spec["D"]["img_resolution"], spec["D"]["img_resolution"], generator=g
    )
    with torch.no_grad():
        a = D_theirs(x, c, force_fp32=True).squeeze(1)
        b = D_ours(x, c if c_dim else None)
    out["D"] = (a - b).abs().max().item()
    out["D |logit| max"] = a.abs().max().item()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("nvidia_checkout", help="a local checkout of NVlabs/stylegan2-ada-pytorch")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.nvidia_checkout)
    warnings.filterwarnings("ignore")  # their missing-CUDA-plugin warnings on the CPU
    from training import networks  # noqa: PLC0415 - their code, from the path given

    worst = 0.0
    for spec in CONFIGS:
        diffs = compare(networks, spec)
        print(spec["name"])
        for k, v in diffs.items():
            print(f"  {k:24s} {v:.3e}")
            if "max" not in k:
                worst = max(worst, v)
    print(f"max abs difference over all: {worst:.3e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
