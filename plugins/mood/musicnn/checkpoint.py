"""Read a TensorFlow 1 checkpoint (a tensor bundle) without TensorFlow.

``<prefix>.index`` is a LevelDB-style sorted table, uncompressed: data blocks of
prefix-compressed ``key -> value`` entries, an index block pointing at them, and
a 48-byte footer. Each value is a protobuf ``BundleEntry`` (dtype, shape, shard,
offset, size) locating the tensor's raw little-endian bytes in
``<prefix>.data-00000-of-00001``. Only what musicnn's checkpoints use is
supported: float32 tensors in one shard.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
DTYPES = {1: np.dtype("<f4"), 3: np.dtype("<i4"), 9: np.dtype("<i8")}  # DT_FLOAT, DT_INT32, DT_INT64


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Top-level protobuf fields as ``(number, value)``: ints for varints/fixed, bytes for length-delimited."""
    out, pos = [], 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def _block_entries(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The ``(key, value)`` entries of one table block (restart array skipped)."""
    block = table[offset:offset + size]
    if table[offset + size] != 0:
        raise ValueError("compressed checkpoint index blocks are not supported")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + value_len]))
        pos += value_len
    return entries


def read_index(index: bytes) -> dict[str, dict]:
    """``{tensor name: {"dtype", "shape", "offset", "size"}}`` from a bundle's ``.index`` bytes."""
    footer = index[-FOOTER_BYTES:]
    if struct.unpack_from("<Q", footer, FOOTER_BYTES - 8)[0] != TABLE_MAGIC:
        raise ValueError("not a TensorFlow checkpoint index (bad table magic)")
    _, pos = _varint(footer, 0)  # metaindex offset
    _, pos = _varint(footer, pos)  # metaindex size
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    tensors: dict[str, dict] = {}
    for _, handle in _block_entries(index, index_offset, index_size):
        block_offset, pos = _varint(handle, 0)
        block_size, _ = _varint(handle, pos)
        for key, value in _block_entries(index, block_offset, block_size):
            if not key:
                continue  # the bundle header
            entry = dict(_fields(value))
            dims = [dict(_fields(dim)).get(1, 0) for number, dim in _fields(entry.get(2, b"")) if number == 2]
            if entry.get(3, 0) != 0 or 7 in entry:
                raise ValueError(f"{key!r}: sharded or sliced tensors are not supported")
            tensors[key.decode()] = {"dtype": entry.get(1, 0), "shape": tuple(dims),
                                     "offset": entry.get(4, 0), "size": entry.get(5, 0)}
    return tensors


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint at ``prefix`` (``prefix + ".index"`` etc.) as a NumPy array."""
    prefix = str(prefix)
    index = Path(prefix + ".index").read_bytes()
    data = Path(prefix + ".data-00000-of-00001").read_bytes()
    return tensors_from_bytes(index, data)


def tensors_from_bytes(index: bytes, data: bytes) -> dict[str, np.ndarray]:
    """Like :func:`read_checkpoint`, on the two files' bytes."""
    out = {}
    for name, entry in read_index(index).items():
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{name}: unsupported dtype code {entry['dtype']}")
        count = int(np.prod(entry["shape"], dtype=np.int64))
        if count * dtype.itemsize != entry["size"] or entry["offset"] + entry["size"] > len(data):
            raise ValueError(f"{name}: size {entry['size']} does not match shape {entry['shape']}")
        out[name] = np.frombuffer(data, dtype=dtype, count=count, offset=entry["offset"]).reshape(entry["shape"])
    return out
