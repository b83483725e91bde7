"""SA-Siam converters (src/tools/convert_sasiam.py): caffe-tensorflow .npy dictionaries
(both layouts, safe unpickling) and TensorFlow V2 checkpoint bundles (pure-Python reader,
microsoft/SA-Siam / Ascend-port variable names), on a narrow SA-Siam net.

The TF bundles are made here by a small pure-Python writer that follows the published
format (leveldb doc/table_format.md and table/block_builder.cc; TF
tensorflow/core/util/tensor_bundle BundleWriter: uncompressed table, header under key "",
BundleEntryProto per tensor, masked crc32c of the tensor bytes), written independently
of the reader under test so that a shared misreading would have to be made twice.
"""
import io
import os
import pickle
import struct

import mindspore as ms
import numpy as np
import pytest
from mindspore import ops

from src.models.sasiam import SASiam, SASiamModelConfig
from src.tools import convert_sasiam as cs
from src.tools.convert_pth import ConversionError

SMALL = SASiamModelConfig(width_mult=0.0625, fusion_channels=8)   # conv widths 6, 16, 24, 24, 16
WIDTHS = [3, 6, 16, 24, 24, 16]
KSIZE = {"conv1": 11, "conv2": 5, "conv3": 3, "conv4": 3, "conv5": 3}
GROUPS = {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}


# -- a pure-Python TF bundle writer -----------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        return key + varint(len(payload)) + payload
    if wire == 5:
        return key + struct.pack("<I", payload)
    raise ValueError(wire)


def crc32c_ref(data):
    """Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): a second
    implementation, not the reader's table."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def mask(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def build_block(items, restart_interval):
    buf, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(items):
        if i % restart_interval == 0:
            restarts.append(len(buf))
            shared = 0
        else:
            shared = 0
            while shared < min(len(key), len(last)) and key[shared] == last[shared]:
                shared += 1
        buf += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        last = key
    if not restarts:
        restarts = [0]
    for r in restarts:
        buf += struct.pack("<I", r)
    buf += struct.pack("<I", len(restarts))
    return bytes(buf)


def write_table(path, records, entries_per_block=3, restart_interval=2):
    """An SSTable of ``records`` (sorted bytes keys): uncompressed data blocks, an empty
    metaindex block, an index block (key = last key of each block), the 48-byte footer."""
    out = bytearray()

    def add_block(contents):
        offset = len(out)
        out.extend(contents)
        out.append(0)                                          # kNoCompression
        out.extend(struct.pack("<I", mask(crc32c_ref(contents + b"\x00"))))
        return varint(offset) + varint(len(contents))

    index_items = []
    for i in range(0, len(records), entries_per_block):
        chunk = records[i:i + entries_per_block]
        index_items.append((chunk[-1][0], add_block(build_block(chunk, restart_interval))))
    meta_handle = add_block(build_block([], 16))
    index_handle = add_block(build_block(index_items, 1))
    footer = meta_handle + index_handle
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    out.extend(footer)
    with open(path, "wb") as f:
        f.write(out)


DTYPE_CODES = {np.dtype("float32"): 1, np.dtype("float64"): 2, np.dtype("int32"): 3, np.dtype("int64"): 9}


def write_bundle(prefix, tensors, **table_kw):
    data, records = bytearray(), []
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])      # (ascontiguousarray would make scalars 1-D)
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        shape = b"".join(field(2, 2, field(1, 0, d)) for d in arr.shape)
        entry = (field(1, 0, DTYPE_CODES[arr.dtype]) + field(2, 2, shape) + field(4, 0, len(data))
                 + field(5, 0, len(raw)) + field(6, 5, mask(crc32c_ref(raw))))
        records.append((name.encode(), entry))
        data += raw
    header = field(1, 0, 1) + field(3, 2, field(1, 0, 1))      # num_shards 1, version.producer 1
    records = [(b"", header)] + sorted(records)
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(data)
    write_table(prefix + ".index", records, **table_kw)
    return prefix


# -- source weights at the narrow width -------------------------------------------------------

def caffe_layers(rng, widths=WIDTHS):
    """{layer: (HWIO weights, biases)} as Caffe/caffe-tensorflow store them (grouped
    convs with in-channels / 2, both groups along the output axis)."""
    out = {}
    for i, layer in enumerate(("conv1", "conv2", "conv3", "conv4", "conv5")):
        k = KSIZE[layer]
        w = rng.standard_normal((k, k, widths[i] // GROUPS[layer], widths[i + 1])).astype(np.float32)
        out[layer] = (w, rng.standard_normal(widths[i + 1]).astype(np.float32))
    out["fc6"] = (rng.standard_normal((4, 5)).astype(np.float32), np.zeros(5, np.float32))
    out["fc8"] = (rng.standard_normal((5, 3)).astype(np.float32), np.zeros(3, np.float32))
    return out


def halves(name, arr):
    """The b1 / b2 TF variables of a grouped layer (split along the last, output axis)."""
    a, b = np.split(arr, 2, axis=-1)
    return {name.replace("{b}", "b1"): a, name.replace("{b}", "b2"): b}


def tf_semantic(rng):
    layers = caffe_layers(rng)
    t = {}
    for layer in ("conv1", "conv2", "conv3", "conv4", "conv5"):
        w, b = layers[layer]
        if GROUPS[layer] == 2:
            t.update(halves(f"sa_siam/semantic_net/{layer}/{{b}}/weights", w))
            t.update(halves(f"sa_siam/semantic_net/{layer}/{{b}}/biases", b))
        else:
            t[f"sa_siam/semantic_net/{layer}/weights"] = w
            t[f"sa_siam/semantic_net/{layer}/biases"] = b
    for layer, ch in (("conv4", 24), ("conv5", 16)):
        t[f"sa_siam/semantic_net/att_fc1_{layer}/weights"] = rng.standard_normal((9, 9)).astype(np.float32)
        t[f"sa_siam/semantic_net/att_fc1_{layer}/biases"] = rng.standard_normal(9).astype(np.float32)
        t[f"sa_siam/semantic_net/att_fc2_{layer}/weights"] = rng.standard_normal((9, 1)).astype(np.float32)
        t[f"sa_siam/semantic_net/att_fc2_{layer}/biases"] = rng.standard_normal(1).astype(np.float32)
        t[f"sa_siam/semantic_net/c1x1_{layer}/weights"] = rng.standard_normal((1, 1, ch, 8)).astype(np.float32)
        t[f"sa_siam/semantic_net/c1x1_{layer}/biases"] = rng.standard_normal(8).astype(np.float32)
    t["detection/biases"] = np.array([-0.25], np.float32)
    return t


def tf_appearance(rng):
    t = {}
    for i, layer in enumerate(("conv1", "conv2", "conv3", "conv4", "conv5")):
        k, out_ch = KSIZE[layer], WIDTHS[i + 1]
        w = rng.standard_normal((k, k, WIDTHS[i] // GROUPS[layer], out_ch)).astype(np.float32)
        grouped = GROUPS[layer] == 2
        scope = f"sa_siam/appearance_net/{layer}" + ("/{b}" if grouped else "")
        put = (lambda n, a: t.update(halves(n, a))) if grouped else (lambda n, a: t.__setitem__(n, a))
        put(f"{scope}/weights", w)
        if layer == "conv5":
            put(f"{scope}/biases", rng.standard_normal(out_ch).astype(np.float32))
        else:
            for leaf in ("gamma", "beta", "moving_mean", "moving_variance"):
                put(f"{scope}/BatchNorm/{leaf}", rng.random(out_ch).astype(np.float32) + 0.5)
    t["detection/biases"] = np.array([0.125], np.float32)
    return t


def save_npy_dict(path, d):
    arr = np.empty((), dtype=object)
    arr[()] = d
    np.save(path, arr, allow_pickle=True)


def load_into_net(path):
    net = SASiam(SMALL)
    params = ms.load_checkpoint(path)
    not_loaded, _ = ms.load_param_into_net(net, params, strict_load=True)
    assert not not_loaded
    return net, {k: v.asnumpy() for k, v in params.items()}


def conv_numpy(x, w_hwio, b, stride):
    """Plain NCHW valid convolution with HWIO weights (group 1)."""
    k = w_hwio.shape[0]
    n, c, h, wd = x.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    out = np.empty((n, w_hwio.shape[3], oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]   # n, c, k, k
            out[:, :, i, j] = np.einsum("nchw,hwco->no", patch, w_hwio)
    return out + b.reshape(1, -1, 1, 1)


# -- caffe .npy -------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["dict", "list"])
def test_caffe_npy_layouts_load_where_expected(tmp_path, layout):
    rng = np.random.default_rng(0)
    layers = caffe_layers(rng)
    if layout == "dict":
        d = {k: {"weights": w, "biases": b} for k, (w, b) in layers.items()}
    else:
        d = {k: [w, b] for k, (w, b) in layers.items()}
    src, dst = str(tmp_path / "caffenet.npy"), str(tmp_path / "caffenet.ckpt")
    save_npy_dict(src, d)
    unmapped, missing = cs.convert("caffe_npy", src, dst, model_cfg=SMALL)
    assert sorted(unmapped) == ["fc6", "fc8"] and missing == []
    params = ms.load_checkpoint(dst)
    assert sorted(params) == sorted(f"semantic.backbone.{l}.{p}" for l in KSIZE for p in ("weight", "bias"))
    net = SASiam(SMALL)
    assert not ms.load_param_into_net(net, params, strict_load=False)[1]   # every tensor found its parameter
    bb = net.semantic.backbone
    # grouped conv2: Caffe's HWIO (5, 5, in / 2, out) is MindSpore's group-2 OIHW weight transposed
    w2 = bb.conv2.weight.asnumpy()
    np.testing.assert_array_equal(w2, layers["conv2"][0].transpose(3, 2, 0, 1))
    assert w2.shape == (16, 3, 5, 5)
    # conv1 forward on the model's own preprocessing (RGB - mean, reversed to BGR) against a
    # numpy convolution of the .npy weights over the BGR-ordered input, as MS semantic_net
    x = rng.uniform(0, 255, (1, 3, 23, 23)).astype(np.float32)
    pre = ops.flip(ms.Tensor(x) - bb.mean, (1,))
    got = bb.conv1(pre).asnumpy()
    x_bgr = (x - np.array([123.0, 117.0, 104.0], np.float32).reshape(1, 3, 1, 1))[:, ::-1]
    want = conv_numpy(x_bgr.astype(np.float64), layers["conv1"][0].astype(np.float64), layers["conv1"][1], 2)
    assert got.shape == want.shape == (1, 6, 7, 7)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_malicious_npy_pickle_refused(tmp_path):
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    src = str(tmp_path / "evil.npy")
    save_npy_dict(src, {"conv1": {"weights": Evil(), "biases": np.zeros(3)}})
    with pytest.raises(ConversionError) as e:
        cs.load_npy_dict(src)
    msg = str(e.value)
    assert "\n" not in msg and src in msg and "system" in msg and "refused" in msg
    assert not sentinel.exists()
    # the CLI: one line, exit status non-zero
    with pytest.raises(SystemExit) as ex:
        cs.main(["--format", "caffe_npy", "--src", src, "--dst", str(tmp_path / "o.ckpt")])
    assert str(ex.value).startswith("convert_sasiam: ") and "\n" not in str(ex.value)
    assert not sentinel.exists() and not (tmp_path / "o.ckpt").exists()


def test_python2_style_pickle_reads(tmp_path):
    """caffe-tensorflow wrote Python 2 pickles (protocol 2, str keys); protocol 2 from
    Python 3 goes through _codecs.encode, which is allowed, nothing else is."""
    rng = np.random.default_rng(1)
    d = {k: {"weights": w, "biases": b} for k, (w, b) in caffe_layers(rng).items()}
    arr = np.empty((), dtype=object)
    arr[()] = d
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    pickle.dump(arr, buf, protocol=2)
    src = tmp_path / "p2.npy"
    src.write_bytes(buf.getvalue())
    got = cs.load_npy_dict(str(src))
    np.testing.assert_array_equal(got["conv3"]["weights"], d["conv3"]["weights"])


def test_npy_errors_one_line(tmp_path):
    rng = np.random.default_rng(2)
    # full-width caffenet into the narrow net: shape mismatch names the key and both shapes
    full = {k: {"weights": w, "biases": b}
            for k, (w, b) in caffe_layers(rng, [3, 96, 256, 384, 384, 256]).items()}
    src = str(tmp_path / "full.npy")
    save_npy_dict(src, full)
    with pytest.raises(ConversionError) as e:
        cs.convert("caffe_npy", src, str(tmp_path / "o.ckpt"), model_cfg=SMALL)
    msg = str(e.value)
    assert "\n" not in msg and "semantic_net/conv1/weights" in msg
    assert "(96, 3, 11, 11)" in msg and "(6, 3, 11, 11)" in msg
    # truncated file
    small = str(tmp_path / "small.npy")
    save_npy_dict(small, {k: {"weights": w, "biases": b} for k, (w, b) in caffe_layers(rng).items()})
    raw = open(small, "rb").read()
    cut = tmp_path / "cut.npy"
    cut.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(ConversionError) as e:
        cs.load_npy_dict(str(cut))
    assert "\n" not in str(e.value) and str(cut) in str(e.value) and "truncated" in str(e.value)
    # a plain array, a missing file
    plain = str(tmp_path / "plain.npy")
    np.save(plain, np.zeros(3))
    with pytest.raises(ConversionError, match="plain float64 array"):
        cs.load_npy_dict(plain)
    with pytest.raises(ConversionError, match="not found"):
        cs.load_npy_dict(str(tmp_path / "nope.npy"))


# -- TF bundles -------------------------------------------------------------------------------

def test_crc32c_check_value():
    assert cs.crc32c(b"123456789") == 0xE3069283 == crc32c_ref(b"123456789")   # CRC-32C check value
    assert cs.unmask_crc(mask(0x12345678)) == 0x12345678


def test_tf_bundle_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    tensors = {f"scope/layer{i:02d}/weights": rng.standard_normal((i % 4 + 1, 3)).astype(np.float32)
               for i in range(11)}
    tensors["global_step"] = np.array(199499, np.int64)
    tensors["scope/double"] = rng.standard_normal((2, 2, 2)).astype(np.float64)
    tensors["scope/ints"] = np.arange(7, dtype=np.int32)
    prefix = write_bundle(str(tmp_path / "model.ckpt-5"), tensors)
    reader = cs.TFBundleReader(prefix)
    assert reader.names() == sorted(tensors)
    for name, arr in tensors.items():
        got = reader.get_tensor(name)
        assert got.dtype == arr.dtype and got.shape == arr.shape
        np.testing.assert_array_equal(got, arr)
    # the .index path, and a directory with a 'checkpoint' state file, resolve to the prefix
    state, other = cs.load_tf_checkpoint(prefix + ".index")
    assert other == [] and sorted(state) == sorted(tensors)
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-5"\n')
    assert cs.resolve_tf_prefix(str(tmp_path)) == prefix


def test_tf_bundle_corruption_one_line(tmp_path):
    rng = np.random.default_rng(4)
    prefix = write_bundle(str(tmp_path / "m"), {"a/w": rng.standard_normal((3, 3)).astype(np.float32),
                                                "b/w": rng.standard_normal(5).astype(np.float32)})
    index = open(prefix + ".index", "rb").read()
    data = open(prefix + ".data-00000-of-00001", "rb").read()

    def check(exc, *needles):
        msg = str(exc.value)
        assert "\n" not in msg, msg
        for n in needles:
            assert n in msg, msg

    bad = bytearray(index)
    bad[3] ^= 0xFF                                  # inside the first data block
    open(prefix + ".index", "wb").write(bad)
    with pytest.raises(ConversionError) as e:
        cs.TFBundleReader(prefix)
    check(e, prefix + ".index", "checksum")
    open(prefix + ".index", "wb").write(index[:-10])  # truncated: footer gone
    with pytest.raises(ConversionError) as e:
        cs.TFBundleReader(prefix)
    check(e, prefix + ".index", "corrupt")
    open(prefix + ".index", "wb").write(index)
    open(prefix + ".data-00000-of-00001", "wb").write(data[:20])
    with pytest.raises(ConversionError) as e:
        cs.TFBundleReader(prefix).get_tensor("b/w")
    check(e, prefix + ".data-00000-of-00001", "truncated")
    flipped = bytearray(data)
    flipped[0] ^= 1
    open(prefix + ".data-00000-of-00001", "wb").write(flipped)
    with pytest.raises(ConversionError) as e:
        cs.TFBundleReader(prefix).get_tensor("a/w")
    check(e, "checksum mismatch", "a/w")
    with pytest.raises(ConversionError) as e:
        cs.TFBundleReader(str(tmp_path / "absent"))
    check(e, "absent.index", "not found")


def check_semantic(params, t):
    """The converted semantic parameters against the TF variables they came from."""
    def cat(name, axis=-1):
        return np.concatenate([t[name.replace("{b}", "b1")], t[name.replace("{b}", "b2")]], axis=axis)

    np.testing.assert_array_equal(params["semantic.backbone.conv1.weight"],
                                  t["sa_siam/semantic_net/conv1/weights"].transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(params["semantic.backbone.conv4.weight"],
                                  cat("sa_siam/semantic_net/conv4/{b}/weights").transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(params["semantic.backbone.conv5.bias"], cat("sa_siam/semantic_net/conv5/{b}/biases"))
    np.testing.assert_array_equal(params["semantic.att_conv4.fc1.weight"], t["sa_siam/semantic_net/att_fc1_conv4/weights"].T)
    np.testing.assert_array_equal(params["semantic.att_conv5.fc2.weight"], t["sa_siam/semantic_net/att_fc2_conv5/weights"].T)
    np.testing.assert_array_equal(params["semantic.c1x1_conv5.weight"],
                                  t["sa_siam/semantic_net/c1x1_conv5/weights"].transpose(3, 2, 0, 1))


def check_appearance(params, t):
    np.testing.assert_array_equal(params["appearance.backbone.conv2.0.weight"], np.concatenate(
        [t["sa_siam/appearance_net/conv2/b1/weights"], t["sa_siam/appearance_net/conv2/b2/weights"]], -1
    ).transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(params["appearance.backbone.conv4.1.moving_variance"], np.concatenate(
        [t["sa_siam/appearance_net/conv4/b1/BatchNorm/moving_variance"],
         t["sa_siam/appearance_net/conv4/b2/BatchNorm/moving_variance"]]))
    np.testing.assert_array_equal(params["appearance.backbone.conv3.1.gamma"], t["sa_siam/appearance_net/conv3/BatchNorm/gamma"])
    np.testing.assert_array_equal(params["appearance.backbone.conv5.0.bias"], np.concatenate(
        [t["sa_siam/appearance_net/conv5/b1/biases"], t["sa_siam/appearance_net/conv5/b2/biases"]]))


def test_tf_branch_checkpoints_ms_names(tmp_path):
    """microsoft/SA-Siam: one checkpoint per branch (`detection/biases` each, global_step);
    --branch both assembles them into the whole SA-Siam parameter set."""
    rng = np.random.default_rng(5)
    sem, app = tf_semantic(rng), tf_appearance(rng)
    sem["global_step"] = np.array(199499, np.int64)
    app["global_step"] = np.array(199499, np.int64)
    p_sem = write_bundle(str(tmp_path / "sem.ckpt-199499"), sem, entries_per_block=7, restart_interval=4)
    p_app = write_bundle(str(tmp_path / "app.ckpt-199499"), app, entries_per_block=5, restart_interval=16)
    dst = str(tmp_path / "sasiam.ckpt")
    unmapped, missing = cs.convert("tf_ckpt", [p_app, p_sem], dst, branch="both", model_cfg=SMALL)
    assert unmapped == ["global_step", "global_step"] and missing == []
    net, params = load_into_net(dst)                       # strict: every parameter present
    check_semantic(params, sem)
    check_appearance(params, app)
    assert params["semantic.head.bias"][0] == np.float32(-0.25)
    assert params["appearance.head.bias"][0] == np.float32(0.125)
    # one branch alone: only its parameters, the other file is not needed
    out = str(tmp_path / "sem.ckpt")
    assert cs.convert("tf_ckpt", p_sem, out, model_cfg=SMALL) == (["global_step"], [])
    assert all(k.startswith("semantic.") for k in ms.load_checkpoint(out))
    # asking for a branch no file holds
    with pytest.raises(ConversionError, match="no sa_siam/appearance_net variables"):
        cs.convert("tf_ckpt", p_sem, out, branch="appearance", model_cfg=SMALL)


def test_tf_cli_reports_and_mismatch(tmp_path, capsys, monkeypatch):
    """The CLI prints the unmapped keys (here the Ascend port's NPU loss-scale variables)
    and, at the default full width, stops on the narrow weights in one line naming the
    key and both shapes."""
    rng = np.random.default_rng(6)
    sem = tf_semantic(rng)
    sem["loss_scale"] = np.array(2.0 ** 32, np.float32)
    prefix = write_bundle(str(tmp_path / "npu.ckpt-10"), sem)
    dst = str(tmp_path / "o.ckpt")
    with pytest.raises(SystemExit) as ex:
        cs.main(["--format", "tf_ckpt", "--src", prefix + ".index", "--dst", dst])
    msg = str(ex.value)
    assert msg.startswith("convert_sasiam: shape mismatch") and "\n" not in msg
    assert "semantic_net/conv1/weights" in msg and "(6, 3, 11, 11)" in msg and "(96, 3, 11, 11)" in msg
    assert not os.path.exists(dst)
    full_shapes = cs.target_shapes
    monkeypatch.setattr(cs, "target_shapes", lambda model_cfg=None: full_shapes(SMALL))
    cs.main(["--format", "tf_ckpt", "--src", prefix + ".index", "--dst", dst, "--branch", "semantic"])
    out = capsys.readouterr().out
    assert "unmapped key in source (ignored): loss_scale" in out and f"wrote {dst}" in out
    assert "model parameter not in source" not in out


def test_tf_combined_names_convert(tmp_path):
    rng = np.random.default_rng(7)
    sem, app = tf_semantic(rng), tf_appearance(rng)
    both = {**{k: v for k, v in sem.items() if k != "detection/biases"},
            **{k: v for k, v in app.items() if k != "detection/biases"}}
    both["detection/biases_semantic"] = sem["detection/biases"]
    both["detection/biases_appearance"] = app["detection/biases"]
    both["loss_scale"] = np.array(2.0 ** 32, np.float32)
    prefix = write_bundle(str(tmp_path / "npu.ckpt-10"), both)
    dst = str(tmp_path / "o.ckpt")
    unmapped, missing = cs.convert("tf_ckpt", prefix, dst, model_cfg=SMALL)
    assert unmapped == ["loss_scale"] and missing == []
    _, params = load_into_net(dst)
    check_semantic(params, sem)
    check_appearance(params, app)
    assert params["appearance.head.bias"][0] == np.float32(0.125)
    # the same file with one ambiguous detection/biases is refused in one line
    both["detection/biases"] = both.pop("detection/biases_semantic")
    prefix2 = write_bundle(str(tmp_path / "amb.ckpt-1"), both)
    with pytest.raises(ConversionError) as e:
        cs.convert("tf_ckpt", prefix2, dst, model_cfg=SMALL)
    assert "\n" not in str(e.value) and "detection/biases" in str(e.value)


def test_tf_errors_one_line(tmp_path):
    rng = np.random.default_rng(8)
    sem = tf_semantic(rng)
    sem["sa_siam/semantic_net/c1x1_conv4/weights"] = np.zeros((1, 1, 24, 9), np.float32)   # 9 != 8 outputs
    prefix = write_bundle(str(tmp_path / "s.ckpt-1"), sem)
    with pytest.raises(ConversionError) as e:
        cs.convert("tf_ckpt", prefix, str(tmp_path / "o.ckpt"), model_cfg=SMALL)
    msg = str(e.value)
    assert "\n" not in msg
    assert "c1x1_conv4/weights" in msg and "(9, 24, 1, 1)" in msg and "(8, 24, 1, 1)" in msg
    # half of a grouped layer
    sem = tf_semantic(rng)
    del sem["sa_siam/semantic_net/conv2/b2/weights"]
    prefix = write_bundle(str(tmp_path / "h.ckpt-1"), sem)
    with pytest.raises(ConversionError) as e:
        cs.convert("tf_ckpt", prefix, str(tmp_path / "o.ckpt"), model_cfg=SMALL)
    assert "\n" not in str(e.value) and "conv2/b2/weights" in str(e.value)
    # a missing parameter stops unless allowed
    sem = tf_semantic(rng)
    del sem["sa_siam/semantic_net/att_fc2_conv5/biases"]
    prefix = write_bundle(str(tmp_path / "m.ckpt-1"), sem)
    with pytest.raises(ConversionError, match="1 model parameters not in the file"):
        cs.convert("tf_ckpt", prefix, str(tmp_path / "o.ckpt"), model_cfg=SMALL)
    _, missing = cs.convert("tf_ckpt", prefix, str(tmp_path / "o.ckpt"), model_cfg=SMALL, allow_missing=True)
    assert missing == ["semantic.att_conv5.fc2.bias"]
    # no SA-Siam variables at all
    prefix = write_bundle(str(tmp_path / "x.ckpt-1"), {"other/w": np.zeros(2, np.float32)})
    with pytest.raises(ConversionError, match="holds no sa_siam"):
        cs.convert("tf_ckpt", prefix, str(tmp_path / "o.ckpt"), model_cfg=SMALL)


def test_config_sets_widths_and_is_stored(tmp_path):
    """--config: the model section gives the widths, the checkpoint carries the config."""
    from src.config import ConfigError, load_config
    from src.training.checkpoint import config_of_checkpoint
    cfg_path = tmp_path / "sasiam.yaml"
    cfg_path.write_text("version: 2\nmodel:\n  arch: sasiam\n  width_mult: 0.0625\n  fusion_channels: 8\n")
    try:
        load_config(str(cfg_path))
    except ConfigError as e:   # the family record comes with its own step of issue 14
        pytest.skip(f"model.arch sasiam does not load yet: {e}")
    rng = np.random.default_rng(9)
    sem = tf_semantic(rng)
    prefix = write_bundle(str(tmp_path / "s.ckpt-1"), sem)
    dst = str(tmp_path / "o.ckpt")
    assert cs.convert("tf_ckpt", prefix, dst, config_path=str(cfg_path)) == ([], [])
    params = ms.load_checkpoint(dst)
    cfg = config_of_checkpoint(params, dst)
    assert cfg.model.arch == "sasiam" and cfg.model.fusion_channels == 8
    check_semantic({k: v.asnumpy() for k, v in params.items() if k != "config"}, sem)


def test_attention_off_leaves_att_keys_unmapped(tmp_path):
    import dataclasses
    rng = np.random.default_rng(10)
    prefix = write_bundle(str(tmp_path / "s.ckpt-1"), tf_semantic(rng))
    no_att = dataclasses.replace(SMALL, attention=False)
    unmapped, missing = cs.convert("tf_ckpt", prefix, str(tmp_path / "o.ckpt"), model_cfg=no_att)
    assert missing == [] and len(unmapped) == 8 and all("/att_fc" in k for k in unmapped)
