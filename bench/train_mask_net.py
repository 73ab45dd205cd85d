"""Train the dsp separator's small mask network on the corpus's training split.

    python bench/train_mask_net.py [--corpus ~/.cache/moodmix-corpus] [--out plugins/stems/mask_net.npz]

For every training clip: the separator's band magnitudes and signal models of the mixture
(exactly as :func:`moodmix.plugins.stems.dsp_separator.masks` computes them), and as targets
the ratio masks of the true stems' band magnitudes. A few thousand cells per clip are drawn
(louder cells more often), and a 14-48-48-4 perceptron is fitted with torch (CPU, one thread, seeded) to
the ratio masks, each cell weighted by the square root of its magnitude. Minutes on 2 cores.
The held-out split is never read; compare the result with ``bench/separation_quality.py
--corpus DIR --split heldout --set learned=0`` before shipping it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_corpus import DEFAULT_DIR, load_clip, load_index

from moodmix.plugins.stems.dsp_separator import (
    STEMS,
    DspConfig,
    DspSeparator,
    band_layout,
    band_models,
    stft,
    to_bands,
)
from moodmix.plugins.stems.mask_net import N_FEATURES, cell_features

HIDDEN = 48


def clip_cells(mix: np.ndarray, stems: dict[str, np.ndarray], sr: int, rng: np.random.Generator,
               per_clip: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, target masks, weights) of ``per_clip`` cells drawn from one clip."""
    cfg = DspConfig()
    n_fft = DspSeparator(cfg).n_fft(sr)
    spec = stft(mix, n_fft)
    mag = np.abs(spec).mean(axis=0)
    starts, widths, centres = band_layout(mag.shape[1], sr, n_fft, cfg)
    bands = to_bands(mag, starts, widths)
    side = to_bands(np.abs(spec[0] - spec[1]) / 2, starts, widths)
    models = band_models(bands, centres, sr, n_fft // 4, cfg)
    x = cell_features(bands, side, centres, models)
    refs = np.stack([to_bands(np.abs(stft(stems[s], n_fft)).mean(axis=0), starts, widths).ravel() for s in STEMS],
                    axis=1)
    total = refs.sum(axis=1, keepdims=True)
    keep = total[:, 0] > 1e-6
    target = np.where(keep[:, None], refs / np.maximum(total, 1e-9), 0.25)
    weight = np.sqrt(bands.ravel())
    p = weight * keep
    idx = rng.choice(weight.size, size=min(per_clip, int(keep.sum())), replace=False, p=p / p.sum())
    return x[idx], target[idx].astype(np.float32), weight[idx].astype(np.float32)


def train(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, steps: int, seed: int) -> dict[str, np.ndarray]:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # tiny matrices: more threads only wait on each other
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    xt = torch.from_numpy((x - mean) / std)
    yt, wt = torch.from_numpy(y), torch.from_numpy(w / w.mean())
    net = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, HIDDEN),
                              torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 4))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        batch = torch.randint(0, xt.shape[0], (4096,), generator=gen)
        pred = torch.softmax(net(xt[batch]), dim=1)
        loss = ((pred - yt[batch]) ** 2).sum(dim=1).mul(wt[batch]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step:5d} loss {loss.item():.4f}", flush=True)
    layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    params = {"mean": mean, "std": std}
    for i, layer in enumerate(layers, start=1):
        params[f"w{i}"] = layer.weight.detach().numpy().T.copy()
        params[f"b{i}"] = layer.bias.detach().numpy().copy()
    return {k: np.asarray(v, np.float32) for k, v in params.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "plugins/stems/mask_net.npz")
    ap.add_argument("--cells-per-clip", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--cells", type=Path, default=None, help="cache the drawn cells in this .npz (reused if present)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    root = args.corpus.expanduser()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.cells is not None and args.cells.exists():
        with np.load(args.cells) as cached:
            x, y, w = cached["x"], cached["y"], cached["w"]
    else:
        xs, ys, ws = [], [], []
        for entry in load_index(root, "train"):
            mix, stems = load_clip(root, entry)
            x, y, w = clip_cells(mix, stems, entry["sr"], rng, args.cells_per_clip)
            xs.append(x)
            ys.append(y)
            ws.append(w)
        x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
        if args.cells is not None:
            np.savez(args.cells, x=x, y=y, w=w)
    print(f"{x.shape[0]} cells in {time.perf_counter() - started:.0f} s", flush=True)
    params = train(x, y, w, steps=args.steps, seed=args.seed)
    np.savez(args.out, **params)
    print(f"saved {sum(v.size for v in params.values())} numbers to {args.out} "
          f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
