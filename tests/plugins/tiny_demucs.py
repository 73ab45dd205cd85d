"""A random HTDemucs with every part of the real one, small enough to run a segment in tens of ms."""

from __future__ import annotations

from fractions import Fraction

SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_htdemucs(seed: int = 0, segment: float = 1.0, t_layers: int = 1):
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(sources=SOURCES, channels=4, depth=4, nfft=1024, t_layers=t_layers, t_heads=2, dconv_comp=4,
                    segment=Fraction(segment).limit_denominator(100)).eval()
