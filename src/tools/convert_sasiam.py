"""Convert SA-Siam weights into MindSpore checkpoints for src/models/sasiam.py.

    python -m src.tools.convert_sasiam --format caffe_npy --src caffenet.npy --dst caffenet.ckpt
    python -m src.tools.convert_sasiam --format tf_ckpt --src SA-Siam-Semantic/model.ckpt-199499 \\
        --dst semantic.ckpt [--branch semantic|appearance|both] [--config sasiam.yaml]

Formats (facts: ../shared/reference/siamfc_sasiam.md section 10):

* ``caffe_npy``: the ImageNet AlexNet of the semantic branch, ``caffenet.npy`` (MS
  configuration.py) or ``bvlc_alexnet.npy``: caffe-tensorflow dictionaries saved with
  ``np.save`` (a pickle inside the .npy), ``{layer: {'weights': HWIO, 'biases': vector}}``
  or ``{layer: [weights, biases]}``. The pickle is read by a restricted unpickler that
  only rebuilds numpy arrays and builtin containers; any other global stops the
  conversion. conv1..conv5 go to ``semantic.backbone.convK`` (HWIO -> OIHW). The grouped
  conv2/4/5 keep Caffe's layout (input channels / 2, both groups' filters concatenated
  along the output axis), which is exactly MindSpore's group-2 weight, and which MS
  load_caffenet splits along the last axis into its b1 / b2 convs. conv1 is taken as is:
  it is BGR-first (Caffe's order), and the network subtracts the RGB mean and then
  reverses the channels before conv1, like MS semantic_net. fc6-8 are ignored (listed).
  The output holds ``semantic.backbone.*`` only: a checkpoint for
  ``train.pretrained: {semantic.backbone: caffenet.ckpt}``.
* ``tf_ckpt``: TensorFlow V2 checkpoints (``<prefix>.index`` + ``<prefix>.data-*``) of
  microsoft/SA-Siam or of the Ascend port (identical model code and variable names; the
  Ascend run adds optimiser/loss-scale variables, which are listed as unmapped):
  ``sa_siam/appearance_net/...`` (conv1-4 with BatchNorm and no bias, conv5 with bias; conv2/4/5
  as ``b1``/``b2`` halves), ``sa_siam/semantic_net/...`` (biased convs, ``att_fc{1,2}_conv{4,5}``,
  ``c1x1_conv{4,5}``) and ``detection/biases`` (the checkpoint's branch's head bias;
  ``detection/biases_appearance`` / ``_semantic`` as the combined tracking graph names
  them). ``--src`` may be given once per branch checkpoint (MS trains them apart);
  ``--branch both`` then writes the assembled SA-Siam checkpoint. tensorflow is an
  optional dependency of this converter only: ``tf.train.load_checkpoint`` when it
  imports, else a pure-Python reader of the bundle format (:class:`TFBundleReader`).

Unmapped source keys and model parameters the files lack are reported as convert_pth
does; a shape mismatch stops with one line naming the key and both shapes (MindSpore
layout). ``--config``: the model section sets the widths (default: SASiamModelConfig()); tf_ckpt
outputs carry the config, the backbone-only caffe_npy output does not.
"""
import argparse
import os
import pickle
import re
import struct
import sys

import numpy as np

from ..models.sasiam import BRANCHES
from .convert_pth import ConversionError, map_state_dict, report

FORMATS = ("caffe_npy", "tf_ckpt")
BRANCH_CHOICES = ("semantic", "appearance", "both")
CONV_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
GROUPED = ("conv2", "conv4", "conv5")          # split into b1 / b2 halves in the TF nets
BN_LEAVES = ("gamma", "beta", "moving_mean", "moving_variance")   # slim and MindSpore names agree
ATT_LAYERS = ("conv4", "conv5")


# -- restricted unpickling of caffe-tensorflow .npy dictionaries ----------------------------

def _numpy_globals():
    """The only globals a pickled dict of arrays needs, looked up from numpy objects
    themselves (numpy 1 pickles ``numpy.core.multiarray``, numpy 2 ``numpy._core``)."""
    reconstruct = np.empty(0).__reduce__()[0]
    scalar = np.float32(0).__reduce__()[0]
    import codecs
    allowed = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = reconstruct
        allowed[(mod, "scalar")] = scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    # protocol-2 pickles of bytes written by Python 3 call _codecs.encode(str, 'latin1')
    allowed[("_codecs", "encode")] = codecs.encode
    return allowed


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, f, path):
        # latin1: caffe-tensorflow files are Python 2 pickles (MS loads them the same way)
        super().__init__(f, encoding="latin1")
        self.path = path
        self.allowed = _numpy_globals()

    def find_class(self, module, name):
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        raise ConversionError(f"{self.path}: refused to load the pickled global '{module}.{name}' "
                              f"(only numpy arrays and builtin containers are read)")

    def persistent_load(self, pid):
        raise ConversionError(f"{self.path}: refused a pickled persistent id (only numpy arrays are read)")


def load_npy_dict(path):
    """The dict inside a caffe-tensorflow ``.npy`` (np.save of a dict), unpickled safely."""
    if not os.path.isfile(path):
        raise ConversionError(f"weights file not found: {path}")
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = read_header(f)
        except Exception as e:  # noqa: BLE001  (numpy raises ValueError / EOFError / SyntaxError)
            raise ConversionError(f"{path}: not a readable .npy file ({_first_line(e)})") from None
        if not dtype.hasobject:
            raise ConversionError(f"{path}: holds a plain {dtype} array of shape {shape}, "
                                  f"expected a pickled dict {{layer: {{'weights', 'biases'}}}}")
        try:
            obj = _ArrayUnpickler(f, path).load()
        except ConversionError:
            raise
        except Exception as e:  # noqa: BLE001  (truncated or corrupt pickle stream)
            raise ConversionError(f"{path}: truncated or corrupt pickle data ({_first_line(e)})") from None
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject and obj.size == 1:
        obj = obj.reshape(()).item()
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: expected a dict of layers, found {type(obj).__name__}")
    return obj


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _layer_params(path, layer, value):
    """(weights, biases) of one caffe-tensorflow layer in either layout."""
    if isinstance(value, dict):
        w, b = value.get("weights"), value.get("biases")
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        w, b = value
    else:
        raise ConversionError(f"{path}: layer '{layer}' is neither {{'weights', 'biases'}} nor [weights, biases]")
    for what, arr in (("weights", w), ("biases", b)):
        if not isinstance(arr, np.ndarray):
            raise ConversionError(f"{path}: layer '{layer}' has no {what} array")
    return w, b


# -- TensorFlow V2 checkpoint bundles ---------------------------------------------------------

def _crc32c_table():
    poly = 0x82F63B78   # Castagnoli, reflected
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()
_MASK_DELTA = 0xA282EAD8
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48          # 2 block handles padded to 40 bytes + 8-byte magic
BLOCK_TRAILER = 5         # compression type byte + masked crc32c


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc):
    """LevelDB / TF crc32c::Mask: rotate right by 15 bits, add a constant."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked):
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def read_varint(buf, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("bad varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def parse_proto(buf):
    """{field number: [values]} of a protobuf message: varints as ints, fixed32/64 as
    ints, length-delimited fields as bytes (enough for the bundle's three messages)."""
    fields, pos = {}, 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            n, pos = read_varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("field runs past the message")
            value, pos = bytes(buf[pos:pos + n]), pos + n
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _int64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


# tensorflow/core/framework/types.proto DataType -> numpy (little-endian) dtype
TF_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
             17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}
TF_DT_BFLOAT16 = 14


class TFBundleReader:
    """Pure-Python reader of a TF V2 checkpoint (tensorflow/core/util/tensor_bundle):
    ``<prefix>.index`` is a LevelDB-format table (uncompressed blocks, as TF writes it)
    mapping tensor names to BundleEntryProto (the BundleHeaderProto under key ""),
    ``<prefix>.data-SSSSS-of-NNNNN`` holds each tensor's raw bytes at the entry's offset.
    Block and tensor checksums (masked crc32c) are verified."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.index_path = prefix + ".index"
        if not os.path.isfile(self.index_path):
            raise ConversionError(f"TensorFlow checkpoint index not found: {self.index_path}")
        with open(self.index_path, "rb") as f:
            self._index = f.read()
        try:
            records = self._read_table()
        except ConversionError:
            raise
        except Exception as e:  # noqa: BLE001  (struct/index errors of a damaged file)
            raise ConversionError(f"{self.index_path}: corrupt checkpoint index ({_first_line(e)})") from None
        if "" not in records:
            raise ConversionError(f"{self.index_path}: no bundle header entry")
        header = parse_proto(records.pop(""))
        self.num_shards = header.get(1, [1])[0]
        self.big_endian = header.get(2, [0])[0] == 1
        self.entries = {}
        for key, value in records.items():
            try:
                self.entries[key] = self._parse_entry(value)
            except Exception as e:  # noqa: BLE001
                raise ConversionError(f"{self.index_path}: corrupt entry for '{key}' ({_first_line(e)})") from None

    # the SSTable
    def _corrupt(self, what):
        return ConversionError(f"{self.index_path}: corrupt or truncated checkpoint index ({what})")

    def _block(self, offset, size):
        data = self._index
        if offset + size + BLOCK_TRAILER > len(data) - FOOTER_SIZE:
            raise self._corrupt(f"block at {offset} runs past the end")
        contents = data[offset:offset + size]
        kind = data[offset + size]
        stored = struct.unpack_from("<I", data, offset + size + 1)[0]
        if unmask_crc(stored) != crc32c(data[offset:offset + size + 1]):
            raise self._corrupt(f"block checksum mismatch at offset {offset}")
        if kind != 0:
            raise ConversionError(f"{self.index_path}: compressed table blocks (type {kind}) need tensorflow "
                                  f"installed (pip install tensorflow)")
        return contents

    @staticmethod
    def _block_entries(block):
        n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
        end = len(block) - 4 - 4 * n_restarts
        if end < 0:
            raise ValueError("restart array larger than the block")
        pos, key = 0, b""
        while pos < end:
            shared, pos = read_varint(block, pos)
            unshared, pos = read_varint(block, pos)
            vlen, pos = read_varint(block, pos)
            if shared > len(key) or pos + unshared + vlen > end:
                raise ValueError("entry runs past the block")
            key = key[:shared] + block[pos:pos + unshared]
            pos += unshared
            yield key, block[pos:pos + vlen]
            pos += vlen

    def _read_table(self):
        data = self._index
        if len(data) < FOOTER_SIZE:
            raise self._corrupt("shorter than a table footer")
        footer = data[-FOOTER_SIZE:]
        if struct.unpack_from("<Q", footer, 40)[0] != TABLE_MAGIC:
            raise self._corrupt("bad magic number")
        _, pos = read_varint(footer, 0)            # metaindex offset
        _, pos = read_varint(footer, pos)          # metaindex size (no meta blocks are used)
        index_offset, pos = read_varint(footer, pos)
        index_size, pos = read_varint(footer, pos)
        records = {}
        for _, handle in self._block_entries(self._block(index_offset, index_size)):
            offset, p = read_varint(handle, 0)
            size, _ = read_varint(handle, p)
            for key, value in self._block_entries(self._block(offset, size)):
                records[key.decode("utf-8")] = bytes(value)
        return records

    @staticmethod
    def _parse_entry(buf):
        f = parse_proto(buf)
        dims = []
        if 2 in f:
            shape = parse_proto(f[2][0])
            dims = [_int64(parse_proto(d).get(1, [0])[0]) for d in shape.get(2, [])]
        return {"dtype": f.get(1, [0])[0], "shape": tuple(dims), "shard_id": f.get(3, [0])[0],
                "offset": f.get(4, [0])[0], "size": f.get(5, [0])[0], "crc32c": f.get(6, [None])[0],
                "sliced": 7 in f}

    # the tensors
    def names(self):
        return sorted(self.entries)

    def is_numeric(self, name):
        e = self.entries[name]
        return (e["dtype"] in TF_DTYPES or e["dtype"] == TF_DT_BFLOAT16) and not e["sliced"]

    def data_path(self, shard):
        return f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}"

    def get_tensor(self, name):
        e = self.entries[name]
        if e["sliced"]:
            raise ConversionError(f"{self.index_path}: '{name}' is a partitioned variable (slices), "
                                  f"not supported without tensorflow")
        code = e["dtype"]
        if code not in TF_DTYPES and code != TF_DT_BFLOAT16:
            raise ConversionError(f"{self.index_path}: '{name}' has TF dtype {code}, not a numeric tensor")
        path = self.data_path(e["shard_id"])
        if not os.path.isfile(path):
            raise ConversionError(f"TensorFlow checkpoint data file not found: {path}")
        with open(path, "rb") as f:
            f.seek(e["offset"])
            raw = f.read(e["size"])
        if len(raw) != e["size"]:
            raise ConversionError(f"{path}: truncated ('{name}' needs bytes {e['offset']}..{e['offset'] + e['size']})")
        if e["crc32c"] is not None and unmask_crc(e["crc32c"]) != crc32c(raw):
            raise ConversionError(f"{path}: checksum mismatch for '{name}' (corrupt data file)")
        if code == TF_DT_BFLOAT16:   # the high 16 bits of a float32
            half = np.frombuffer(raw, ">u2" if self.big_endian else "<u2").astype(np.uint32)
            arr = (half << 16).view(np.float32)
        else:
            dtype = np.dtype(TF_DTYPES[code])
            arr = np.frombuffer(raw, dtype.newbyteorder(">") if self.big_endian else dtype)
        count = int(np.prod(e["shape"])) if e["shape"] else 1
        if arr.size != count:
            raise ConversionError(f"{self.index_path}: '{name}' holds {arr.size} values for shape {e['shape']}")
        return arr.reshape(e["shape"]).copy()


def resolve_tf_prefix(src):
    """The checkpoint prefix of ``src``: a prefix, its ``.index`` / ``.data-*`` file, or a
    directory with a ``checkpoint`` file (model_checkpoint_path)."""
    if os.path.isdir(src):
        state = os.path.join(src, "checkpoint")
        if not os.path.isfile(state):
            raise ConversionError(f"{src}: a directory without a 'checkpoint' file; pass the checkpoint prefix")
        with open(state, encoding="utf-8", errors="replace") as f:
            m = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', f.read(), re.M)
        if not m:
            raise ConversionError(f"{state}: no model_checkpoint_path line")
        path = m.group(1)
        return path if os.path.isabs(path) else os.path.join(src, path)
    return re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", src)


def load_tf_checkpoint(src):
    """({variable name: ndarray} of the numeric tensors, [other entry names])."""
    prefix = resolve_tf_prefix(src)
    try:
        import tensorflow as tf  # optional: only this converter uses it
    except ImportError:
        tf = None
    if tf is not None:
        try:
            reader = tf.train.load_checkpoint(prefix)
            names = reader.get_variable_to_dtype_map()
        except Exception as e:  # noqa: BLE001  (tf raises NotFoundError / DataLossError ...)
            raise ConversionError(f"{prefix}: not a readable TensorFlow checkpoint ({_first_line(e)})") from None
        state, other = {}, []
        for name, dtype in sorted(names.items()):
            if dtype.is_floating or dtype.is_integer or dtype.is_bool:
                state[name] = np.asarray(reader.get_tensor(name))
            else:
                other.append(name)
        return state, other
    reader = TFBundleReader(prefix)
    state, other = {}, []
    for name in reader.names():
        if reader.is_numeric(name):
            state[name] = reader.get_tensor(name)
        else:
            other.append(name)
    return state, other


# -- name and layout mapping ------------------------------------------------------------------

def _tf_name(key):
    """A variable name without the ':0' suffix and the 'sa_siam/' scope."""
    key = re.sub(r":\d+$", "", key)
    return key[len("sa_siam/"):] if key.startswith("sa_siam/") else key


def _conv_oihw(key, w):
    if w.ndim != 4:
        raise ConversionError(f"'{key}': expected a 4-D HWIO conv weight, got shape {tuple(w.shape)}")
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def _branch_specs(branch):
    """[(model parameter, [TF names, concatenated along the output axis], kind)] of one
    branch's TF variables; kind: conv (HWIO -> OIHW), vec, fc (slim [in, out] -> [out, in])."""
    specs = []
    if branch == "appearance":
        scope, root = "appearance_net", "appearance.backbone"
        for layer in CONV_LAYERS:
            parts = [f"{layer}/b1", f"{layer}/b2"] if layer in GROUPED else [layer]
            specs.append((f"{root}.{layer}.0.weight", [f"{scope}/{p}/weights" for p in parts], "conv"))
            if layer == "conv5":     # no BN: the only conv with a bias
                specs.append((f"{root}.{layer}.0.bias", [f"{scope}/{p}/biases" for p in parts], "vec"))
            else:
                for leaf in BN_LEAVES:
                    specs.append((f"{root}.{layer}.1.{leaf}", [f"{scope}/{p}/BatchNorm/{leaf}" for p in parts], "vec"))
    else:
        scope, root = "semantic_net", "semantic.backbone"
        for layer in CONV_LAYERS:
            parts = [f"{layer}/b1", f"{layer}/b2"] if layer in GROUPED else [layer]
            specs.append((f"{root}.{layer}.weight", [f"{scope}/{p}/weights" for p in parts], "conv"))
            specs.append((f"{root}.{layer}.bias", [f"{scope}/{p}/biases" for p in parts], "vec"))
        for layer in ATT_LAYERS:
            for k in (1, 2):
                specs.append((f"semantic.att_{layer}.fc{k}.weight", [f"{scope}/att_fc{k}_{layer}/weights"], "fc"))
                specs.append((f"semantic.att_{layer}.fc{k}.bias", [f"{scope}/att_fc{k}_{layer}/biases"], "vec"))
            specs.append((f"semantic.c1x1_{layer}.weight", [f"{scope}/c1x1_{layer}/weights"], "conv"))
            specs.append((f"semantic.c1x1_{layer}.bias", [f"{scope}/c1x1_{layer}/biases"], "vec"))
    return specs


def _convert_specs(state, specs, src):
    """({display key: array in the model's layout}, {display key: model name}, used keys)."""
    converted, names, used = {}, {}, set()
    for name, keys, kind in specs:
        present = [k for k in keys if k in state]
        if not present:
            continue
        if len(present) != len(keys):
            absent = [k for k in keys if k not in state][0]
            raise ConversionError(f"{src}: '{present[0]}' is in the file but its other half '{absent}' is not")
        display = keys[0] if len(keys) == 1 else re.sub(r"/b1/", "/b{1,2}/", keys[0])
        arrays = [np.asarray(state[k]) for k in keys]
        if kind == "conv":
            arrays = [_conv_oihw(k, a) for k, a in zip(keys, arrays)]
            axis = 0
        elif kind == "fc":
            if arrays[0].ndim != 2:
                raise ConversionError(f"'{keys[0]}': expected a 2-D [in, out] weight, got shape {arrays[0].shape}")
            arrays = [a.T for a in arrays]
            axis = 0
        else:
            axis = arrays[0].ndim - 1 if arrays[0].ndim else 0
        if len(arrays) > 1 and len({a.shape for a in arrays}) != 1:
            raise ConversionError(f"shape mismatch between '{keys[0]}' {tuple(state[keys[0]].shape)} and "
                                  f"'{keys[1]}' {tuple(state[keys[1]].shape)}")
        value = arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=axis)
        converted[display] = np.ascontiguousarray(value)
        names[display] = name
        used.update(keys)
    return converted, names, used


def _check_shapes(converted, names, target):
    """map_state_dict (convert_pth) over the display keys: target names, float32, missing.
    The shape check comes first so that its message names the file's variable (shapes in
    MindSpore's layout: OIHW convs, [out, in] dense weights)."""
    for display, name in names.items():
        shape = tuple(converted[display].shape)
        if name in target and shape != tuple(target[name]):
            raise ConversionError(f"shape mismatch for '{display}' -> '{name}': {shape} in the file "
                                  f"(as MindSpore lays it out), {tuple(target[name])} in the model")
    rules = [(f"^{re.escape(display)}$", name) for display, name in names.items()]
    return map_state_dict(converted, rules, target, bn_modules=set())


def branches_of(state):
    """Which branches' networks a TF checkpoint holds."""
    found = []
    for branch, scope in (("appearance", "appearance_net/"), ("semantic", "semantic_net/")):
        if any(_tf_name(k).startswith(scope) for k in state):
            found.append(branch)
    return found


def map_tf_state(state, target, src, branches=None):
    """Map one TF checkpoint's variables onto ``target`` {name: shape}.

    ``branches``: the branches to read (None: those the file holds). ``detection/biases``
    is the head bias of the file's branch (one branch per file, as MS trains them);
    ``detection/biases_<branch>`` names it explicitly. Returns (mapped, unmapped source
    keys, missing target names among the branches read, the branches read)."""
    plain, originals = {}, {}
    for key, value in state.items():
        name = _tf_name(key)
        plain[name] = value
        originals[name] = key
    held = branches_of(plain)
    read = held if branches is None else [b for b in held if b in branches]
    if not read:
        wanted = " or ".join(f"{b}_net" for b in (branches or BRANCHES))
        raise ConversionError(f"{src}: holds no sa_siam/{wanted} variables "
                              f"(found: {', '.join(held) or 'neither branch'})")
    specs = []
    for b in read:
        specs += _branch_specs(b)
        specs.append((f"{b}.head.bias", [f"detection/biases_{b}"], "vec"))
    if "detection/biases" in plain:
        if len(held) > 1:
            raise ConversionError(f"{src}: holds both branches but one 'detection/biases'; rename it "
                                  f"detection/biases_appearance or detection/biases_semantic")
        specs.append((f"{held[0]}.head.bias", ["detection/biases"], "vec"))
    branch_target = {n: s for n, s in target.items() if n.split(".")[0] in read}
    # parameters the configured net lacks (model.attention false: no att_*) stay unmapped keys
    specs = [spec for spec in specs if spec[0] in branch_target]
    converted, names, used = _convert_specs(plain, specs, src)
    mapped, _, missing = _check_shapes(converted, names, branch_target)
    unmapped = [originals[k] for k in sorted(plain) if k not in used]
    return mapped, unmapped, missing, read


def map_caffe_npy(layers, target, src):
    """Map a caffe-tensorflow dict onto ``target``'s semantic.backbone parameters.
    Returns (mapped, unmapped layers/params (fc6-8 among them), missing names)."""
    state, unmapped = {}, []
    for layer in sorted(layers):
        if layer not in CONV_LAYERS:
            unmapped.append(str(layer))
            continue
        w, b = _layer_params(src, layer, layers[layer])
        state[f"semantic_net/{layer}/weights"] = w
        state[f"semantic_net/{layer}/biases"] = b
        if isinstance(layers[layer], dict):
            unmapped += [f"{layer}/{k}" for k in sorted(layers[layer]) if k not in ("weights", "biases")]
    specs = [s for s in _branch_specs("semantic") if s[0].startswith("semantic.backbone.")]
    # Caffe stores grouped convs whole (both groups along the output axis): one tensor each
    specs = [(name, [re.sub(r"/b1/", "/", keys[0])], kind) for name, keys, kind in specs]
    backbone = {n: s for n, s in target.items() if n.startswith("semantic.backbone.")}
    converted, names, _ = _convert_specs(state, specs, src)
    mapped, _, missing = _check_shapes(converted, names, backbone)
    return mapped, unmapped, missing


# -- the conversion ---------------------------------------------------------------------------

def target_shapes(model_cfg=None):
    """{parameter name: shape} of SASiam(model_cfg) (default: SASiamModelConfig())."""
    from ..models.sasiam import SASiam, SASiamModelConfig
    net = SASiam(model_cfg or SASiamModelConfig())
    return {p.name: tuple(p.shape) for p in net.get_parameters()}


def _load_cfg(config_path):
    if not config_path:
        return None
    from ..config import load_config
    return load_config(config_path)


def convert(fmt, srcs, dst, branch=None, config_path=None, model_cfg=None, allow_missing=False):
    """Convert ``srcs`` (one path, or one TF checkpoint per branch) into ``dst``.
    Returns (unmapped, missing). ``model_cfg`` (a SASiamModelConfig) overrides the
    config's model section, e.g. a narrow network in tests."""
    import mindspore as ms

    from ..training.checkpoint import save_checkpoint_atomic

    if fmt not in FORMATS:
        raise ConversionError(f"unknown --format '{fmt}' (choose from {', '.join(FORMATS)})")
    if branch is not None and branch not in BRANCH_CHOICES:
        raise ConversionError(f"unknown --branch '{branch}' (choose from {', '.join(BRANCH_CHOICES)})")
    srcs = [srcs] if isinstance(srcs, str) else list(srcs)
    cfg = _load_cfg(config_path)
    target = target_shapes(model_cfg or (cfg.model if cfg is not None else None))
    mapped, unmapped, missing = {}, [], []
    if fmt == "caffe_npy":
        if branch not in (None, "semantic") or len(srcs) != 1:
            raise ConversionError("--format caffe_npy holds the semantic backbone only: one --src, --branch semantic")
        mapped, unmapped, missing = map_caffe_npy(load_npy_dict(srcs[0]), target, srcs[0])
        if not mapped:
            raise ConversionError(f"{srcs[0]}: no conv1..conv5 layers found")
    else:
        wanted = {"both": list(BRANCHES), None: None}.get(branch, [branch])
        covered = set()
        for src in srcs:
            state, other = load_tf_checkpoint(src)
            m, u, _, read = map_tf_state(state, target, src, wanted)
            if covered & set(read):
                raise ConversionError(f"{src}: a second checkpoint of the {', '.join(sorted(covered & set(read)))} "
                                      f"branch")
            covered.update(read)
            mapped.update(m)
            unmapped += u + list(other)
        if wanted is not None and set(wanted) - covered:
            raise ConversionError(f"no checkpoint of the {', '.join(sorted(set(wanted) - covered))} branch "
                                  f"among --src {' '.join(srcs)}")
        missing = sorted(n for n in target if n.split(".")[0] in covered and n not in mapped)
    if missing and not allow_missing:
        raise ConversionError(f"{', '.join(srcs)}: {len(missing)} model parameters not in the file, "
                              f"e.g. {', '.join(missing[:4])}")
    params = [{"name": n, "data": ms.Tensor(mapped[n])} for n in target if n in mapped]
    append = None
    if cfg is not None and fmt == "tf_ckpt":   # caffe_npy: a backbone-only file, as convert_pth's
        from ..config import to_yaml
        append = {"config": to_yaml(cfg)}
    save_checkpoint_atomic(params, dst, append_dict=append)
    return unmapped, missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--src", required=True, nargs="+",
                        help="caffe-tensorflow .npy, or TF checkpoint prefix(es) / .index file(s): one per branch")
    parser.add_argument("--dst", required=True, help="output MindSpore .ckpt")
    parser.add_argument("--branch", default=None, choices=BRANCH_CHOICES,
                        help="branch(es) to convert (default: semantic for caffe_npy, those the TF files hold)")
    parser.add_argument("--config", default=None, help="experiment YAML (model widths; stored in the checkpoint)")
    parser.add_argument("--allow_missing", action="store_true",
                        help="write the checkpoint even if some model parameters are absent")
    args = parser.parse_args(argv)
    try:
        unmapped, missing = convert(args.format, args.src, args.dst, args.branch, args.config,
                                    allow_missing=args.allow_missing)
    except (ConversionError, ValueError) as e:
        sys.exit(f"convert_sasiam: {e}")
    report(unmapped, missing, args.dst)


if __name__ == "__main__":
    main()
