"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/: a few tiny
valid files of each format and a few broken ones. Run with /usr/bin/python3 (NumPy);
the output is committed, so this is needed only to change the seeds.

Layouts: text is a Penn Treebank file; idx is one flag byte, then (flag & 1) a
big-endian u32 length n, n bytes of image file and the label file, else the image file
alone (fuzz/fuzz_idx.cpp); npz is a NumPy .npz; checkpoint is a checkpoint of
fuzz_checkpoint.cpp's model (fc: Linear 2->2, out: Linear 2->1) with Adam's state.
"""
import gzip
import io
import json
import os
import struct
import sys

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    # mtime 0: the same seed bytes on every run
    return gzip.compress(data, mtime=0)


def npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# ---- text
put("text", "ptb.txt", b" the cat sat on the mat \n a dog <unk> barked\n\n N years ago\n")
put("text", "utf8-crlf.txt", "caf\u00e9 \u20ac 5\r\nzw\u00f6lf boxk\u00e4mpfer\r\n".encode())
put("text", "no-final-newline.txt", b"one line\nand another")
put("text", "latin1.txt", b"fine\ncaf\xe9 au lait\n")
put("text", "nul.txt", b"a\x00b\n")
put("text", "long-line.txt", b"w " * 200 + b"\n")
put("text", "empty.txt", b"")

# ---- idx
def idx_images(count, rows, cols, magic=0x803):
    pixels = bytes((i * 37) % 256 for i in range(count * rows * cols))
    return struct.pack(">IIII", magic, count, rows, cols) + pixels


def idx_labels(count):
    return struct.pack(">II", 0x801, count) + bytes(i % 10 for i in range(count))


def with_labels(images, labels):
    return b"\x01" + struct.pack(">I", len(images)) + images + labels


put("idx", "plain", b"\x00" + idx_images(2, 3, 2))
put("idx", "gzip", b"\x00" + gz(idx_images(3, 2, 2)))
put("idx", "plain-labels", with_labels(idx_images(2, 2, 2), idx_labels(2)))
put("idx", "gzip-labels", with_labels(gz(idx_images(3, 2, 2)), gz(idx_labels(3))))
put("idx", "label-mismatch", with_labels(idx_images(2, 2, 2), idx_labels(3)))
put("idx", "bad-magic", b"\x00" + idx_images(1, 2, 2, magic=0x801))
put("idx", "truncated", b"\x00" + idx_images(4, 3, 3)[:-5])
put("idx", "huge-header", b"\x00" + struct.pack(">IIII", 0x803, 134217728, 768, 512) + b"\x7f" * 17)

# ---- npz
put("npz", "arrays.npz", npz({"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                              "scalar": np.float32(2.5),
                              "empty": np.zeros((0, 3), np.float32),
                              "text": np.frombuffer(b'{"k": 1}', np.uint8)}))
put("npz", "one.npz", npz({"x": np.ones(1, np.float32)}))
put("npz", "float64.npz", npz({"d": np.ones(2, np.float64)}))
put("npz", "truncated.npz", npz({"x": np.ones(4, np.float32)})[:-30])

# ---- checkpoint
shapes = {"fc.weight": (2, 2), "fc.bias": (2,), "out.weight": (1, 2), "out.bias": (1,)}
rng = np.random.default_rng(0)
model = {"model/" + k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
optim = {"optim/step": np.float32(3)}
for k, s in shapes.items():
    optim["optim/exp_avg/" + k] = rng.standard_normal(s).astype(np.float32) * 0.1
    optim["optim/exp_avg_sq/" + k] = np.abs(rng.standard_normal(s).astype(np.float32)) * 0.01
meta = {"meta": np.frombuffer(json.dumps({"model": "small", "step": 3}).encode(), np.uint8)}
put("checkpoint", "full.npz", npz({**model, **optim, **meta}))
put("checkpoint", "no-optimiser.npz", npz({**model, **meta}))
wrong = dict(model)
wrong["model/fc.weight"] = np.zeros((3, 2), np.float32)
put("checkpoint", "wrong-shape.npz", npz({**wrong, **meta}))

total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(root) for f in fs)
print("wrote the seed corpora under %s (%d bytes)" % (root, total), file=sys.stderr)
