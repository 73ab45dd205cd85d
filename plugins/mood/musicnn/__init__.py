"""musicnn, ported to torch: pretrained audio taggers whose embeddings and tags feed the mood model.

The weights (``weights.npz``) are converted from musicnn 0.1.0 (ISC licence, see
``LICENSE-musicnn.md``) by :mod:`.convert`; nothing here imports TensorFlow.
"""
