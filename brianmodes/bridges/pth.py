"""PyTorch checkpoints (``torch.save``'s zip format) read without torch and without running pickle code.

A ``.pth`` file is a zip archive: ``NAME/data.pkl``, a pickle of the state dict,
and ``NAME/data/KEY``, the raw little-endian bytes of each tensor's storage.
Unpickling ``data.pkl`` with :mod:`pickle` would call whatever the file names
(``os.system`` as readily as a tensor constructor). :func:`read_pth` instead
interprets the pickle itself, opcode by opcode, and knows only what a state dict
of tensors is made of: dicts and ordered dicts of names, the tensor-rebuild call
(``torch._utils._rebuild_tensor_v2``), the storage records by dtype, tuples of
integers. Any other global, opcode or structure is refused with a
:class:`~brianmodes.BrianModesError`, as are compressed or truncated archives,
storages of the wrong size and tensors that reach outside their storage.

Examples
--------
>>> import tempfile, zipfile, struct
>>> path = tempfile.mktemp(suffix=".pth")
>>> with zipfile.ZipFile(path, "w") as z:
...     z.writestr("m/data.pkl", b"\\x80\\x02}q\\x00.")   # an empty dict
>>> read_pth(path)
{}
"""

from __future__ import annotations

import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import BrianModesError

#: Storage types by name (``torch.FloatStorage``...) and their little-endian dtypes.
STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
                  "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
                  "ByteStorage": "u1", "BoolStorage": "?"}
#: The largest pickle (bytes) and storage (bytes) read; a state dict of a mode network is kilobytes.
MAX_PICKLE_BYTES = 16 * 2**20
MAX_STORAGE_BYTES = 2**31
MAX_TENSOR_ELEMENTS = 2**28
MAX_STACK = 100_000


class _Storage:
    """A storage record: its dtype and the key of its bytes in the archive (read when a tensor needs it)."""

    def __init__(self, type_name, key, numel):
        self.dtype, self.key, self.numel = np.dtype(STORAGE_DTYPES[type_name]), key, numel
        self.bfloat16 = type_name == "BFloat16Storage"


class _Global:
    """A global the pickle names; only the allowed ones exist (see ``_GLOBALS``)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __repr__(self):
        return f"{self.module}.{self.name}"


_REBUILD = ("torch._utils", "_rebuild_tensor_v2")
_PARAMETER = ("torch._utils", "_rebuild_parameter")
_ORDERED_DICT = ("collections", "OrderedDict")
_GLOBALS = {_REBUILD, _PARAMETER, _ORDERED_DICT} | {("torch", name) for name in STORAGE_DTYPES}


def _refuse(what):
    raise BrianModesError(f"not a PyTorch state dict of tensors: {what}; refused without running it")


class _Machine:
    """The pickle virtual machine, restricted to the records of a state dict (see the module's text)."""

    def __init__(self, data, load_storage):
        self.data, self.pos, self.load_storage = data, 0, load_storage
        self.stack, self.marks, self.memo = [], [], {}

    # -- reading the stream --------------------------------------------------------
    def read(self, n):
        if n < 0 or self.pos + n > len(self.data):
            _refuse("the pickle ends in the middle of a record")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def text(self, n):
        try:
            return self.read(n).decode("utf-8")
        except UnicodeDecodeError:
            _refuse("a name that is not UTF-8 text")

    def line(self):
        end = self.data.find(b"\n", self.pos)
        if end < 0 or end - self.pos > 256:
            _refuse("a global name without its end of line")
        text = self.data[self.pos:end].decode("ascii", errors="replace")
        self.pos = end + 1
        return text

    # -- the stack -------------------------------------------------------------------
    def push(self, value):
        if len(self.stack) >= MAX_STACK:
            _refuse("more records than a state dict holds")
        self.stack.append(value)

    def pop(self):
        if not self.stack or (self.marks and len(self.stack) <= self.marks[-1]):
            _refuse("a record that takes a value where there is none")
        return self.stack.pop()

    def pop_mark(self):
        if not self.marks:
            _refuse("a record that needs a mark where there is none")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def top(self):
        if not self.stack:
            _refuse("a record that takes a value where there is none")
        return self.stack[-1]

    # -- running ---------------------------------------------------------------------
    def run(self):
        while True:
            code = self.read(1)
            if code == b".":  # STOP
                if len(self.stack) != 1 or self.marks:
                    _refuse("the pickle does not end with one value")
                return self.stack[0]
            handler = _OPCODES.get(code)
            if handler is None:
                _refuse(f"pickle record {code!r} at byte {self.pos - 1}, which a state dict does not use")
            handler(self)

    def memo_put(self, key):
        self.memo[key] = self.top()

    def memo_get(self, key):
        if key not in self.memo:
            _refuse(f"a reference to record {key}, which does not exist")
        self.push(self.memo[key])

    def global_(self):
        module, name = self.line(), self.line()
        if (module, name) not in _GLOBALS:
            _refuse(f"the global {module}.{name}")
        self.push(_Global(module, name))

    def reduce(self):
        args, func = self.pop(), self.pop()
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            _refuse("a call of something that is not an allowed global")
        key = (func.module, func.name)
        if key == _ORDERED_DICT:
            if args:
                _refuse("an OrderedDict made from arguments")
            self.push(OrderedDict())
        elif key == _REBUILD:
            self.push(_rebuild_tensor(args, self.load_storage))
        elif key == _PARAMETER:
            if len(args) != 3 or not isinstance(args[0], np.ndarray):
                _refuse("a parameter that is not a tensor")
            self.push(args[0])
        else:
            _refuse(f"a call of {func}")

    def build(self):
        state, target = self.pop(), self.top()
        # a module's state dict carries its version numbers as _metadata: accepted and dropped
        if not isinstance(target, OrderedDict) or not isinstance(state, dict) or set(state) - {"_metadata"}:
            _refuse("a BUILD record that is not a state dict's metadata")

    def persistent_id(self):
        pid = self.pop()
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Global)
                and pid[1].module == "torch" and pid[1].name in STORAGE_DTYPES and isinstance(pid[2], str)
                and isinstance(pid[3], str) and _is_int(pid[4]) and pid[4] >= 0):
            _refuse("a persistent reference that is not a tensor storage")
        self.push(_Storage(pid[1].name, pid[2], pid[4]))

    def set_items(self, items):
        target = self.top()
        if not isinstance(target, dict):
            _refuse("items set on something that is not a dict")
        if len(items) % 2:
            _refuse("a dict record with a key and no value")
        for key, value in zip(items[::2], items[1::2]):
            if not isinstance(key, (str, int)):
                _refuse("a dict key that is not a name")
            target[key] = value

    def append(self, items):
        target = self.top()
        if not isinstance(target, list):
            _refuse("items appended to something that is not a list")
        target.extend(items)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_tuple(value, what):
    if not isinstance(value, tuple) or not all(_is_int(v) and v >= 0 for v in value) or len(value) > 32:
        _refuse(f"a tensor {what} that is not a tuple of non-negative integers")
    return value


def _rebuild_tensor(args, load_storage):
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])``."""
    if len(args) not in (6, 7) or not isinstance(args[0], _Storage) or not _is_int(args[1]) or args[1] < 0:
        _refuse("a tensor record without a storage and an offset")
    storage, offset = args[0], args[1]
    size, stride = _int_tuple(args[2], "size"), _int_tuple(args[3], "stride")
    if len(size) != len(stride):
        _refuse("a tensor whose size and stride disagree")
    if not isinstance(args[4], bool) or not isinstance(args[5], dict) or args[5]:
        _refuse("a tensor record with hooks")
    n = int(np.prod(size, dtype=object))
    if n > MAX_TENSOR_ELEMENTS:
        _refuse(f"a tensor of {n} elements")
    if n and offset + sum((s - 1) * st for s, st in zip(size, stride)) >= storage.numel:
        _refuse("a tensor that reaches outside its storage")
    flat = load_storage(storage)
    if n == 0:
        array = np.zeros(size, flat.dtype)
    else:
        item = flat.dtype.itemsize
        array = np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=[st * item for st in stride])
    array = np.array(array, dtype=flat.dtype.newbyteorder("="))
    if storage.bfloat16:  # bfloat16: the upper half of a float32
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


_OPCODES = {
    b"\x80": lambda m: m.read(1),                                     # PROTO
    b"\x95": lambda m: m.read(8),                                     # FRAME
    b"(": lambda m: m.marks.append(len(m.stack)),                     # MARK
    b"c": _Machine.global_,                                           # GLOBAL
    b"R": _Machine.reduce,                                            # REDUCE
    b"b": _Machine.build,                                             # BUILD
    b"Q": _Machine.persistent_id,                                     # BINPERSID
    b")": lambda m: m.push(()),                                       # EMPTY_TUPLE
    b"t": lambda m: m.push(tuple(m.pop_mark())),                      # TUPLE
    b"\x85": lambda m: m.push((m.pop(),)),                            # TUPLE1
    b"\x86": lambda m: m.push(tuple(reversed([m.pop(), m.pop()]))),   # TUPLE2
    b"\x87": lambda m: m.push(tuple(reversed([m.pop(), m.pop(), m.pop()]))),  # TUPLE3
    b"}": lambda m: m.push({}),                                       # EMPTY_DICT
    b"]": lambda m: m.push([]),                                       # EMPTY_LIST
    b"s": lambda m: m.set_items(list(reversed([m.pop(), m.pop()]))),  # SETITEM
    b"u": lambda m: m.set_items(m.pop_mark()),                        # SETITEMS
    b"a": lambda m: m.append([m.pop()]),                              # APPEND
    b"e": lambda m: m.append(m.pop_mark()),                           # APPENDS
    b"X": lambda m: m.push(m.text(m.unpack("<I"))),                   # BINUNICODE
    b"\x8c": lambda m: m.push(m.text(m.unpack("<B"))),                # SHORT_BINUNICODE
    b"J": lambda m: m.push(m.unpack("<i")),                           # BININT
    b"K": lambda m: m.push(m.unpack("<B")),                           # BININT1
    b"M": lambda m: m.push(m.unpack("<H")),                           # BININT2
    b"\x8a": lambda m: m.push(_long(m.read(m.unpack("<B")))),         # LONG1
    b"G": lambda m: m.push(m.unpack(">d")),                           # BINFLOAT
    b"N": lambda m: m.push(None),                                     # NONE
    b"\x88": lambda m: m.push(True),                                  # NEWTRUE
    b"\x89": lambda m: m.push(False),                                 # NEWFALSE
    b"q": lambda m: m.memo_put(m.unpack("<B")),                       # BINPUT
    b"r": lambda m: m.memo_put(m.unpack("<I")),                       # LONG_BINPUT
    b"\x94": lambda m: m.memo_put(len(m.memo)),                       # MEMOIZE
    b"h": lambda m: m.memo_get(m.unpack("<B")),                       # BINGET
    b"j": lambda m: m.memo_get(m.unpack("<I")),                       # LONG_BINGET
}


def _long(data):
    if len(data) > 8:
        _refuse("an integer of more than 64 bits")
    return int.from_bytes(data, "little", signed=True)


def _archive_entries(archive, path):
    """The pickle's name and the archive's prefix, after checking every entry is stored uncompressed."""
    infos = archive.infolist()
    pickles = [info.filename for info in infos if info.filename.endswith("/data.pkl")
               and info.filename.count("/") == 1]
    if len(pickles) != 1:
        raise BrianModesError(f"{path} is a zip archive but not a torch.save checkpoint (no single NAME/data.pkl)")
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise BrianModesError(f"{path}: entry {info.filename} is compressed; torch.save stores every entry "
                                  "uncompressed, refused")
    return pickles[0], pickles[0][:-len("data.pkl")]


def read_pth(path):
    """The tensors of a PyTorch state dict saved with ``torch.save``, as numpy arrays, without torch.

    Parameters
    ----------
    path : path
        A ``.pth`` / ``.pt`` file in the zip format of torch >= 1.6.

    Returns
    -------
    dict
        Name -> ndarray, in the file's order (float32 tensors stay float32;
        bfloat16 becomes float32).

    Raises
    ------
    BrianModesError
        For anything but a state dict of tensors (see the module's text),
        for the legacy (pre-1.6) format, and for damaged files.
    """
    path = Path(path)
    if not path.is_file():
        raise BrianModesError(f"no such file: {path}")
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:2]
        legacy = " (the legacy format of torch < 1.6: load it with torch and torch.save it again)" \
            if head[:1] == b"\x80" else ""
        raise BrianModesError(f"{path} is not a torch.save zip archive{legacy}")
    try:
        with zipfile.ZipFile(path) as archive:
            pickle_name, prefix = _archive_entries(archive, path)
            info = archive.getinfo(pickle_name)
            if info.file_size > MAX_PICKLE_BYTES:
                _refuse(f"a pickle of {info.file_size} bytes")
            cache = {}

            def load_storage(storage):
                if storage.key not in cache:
                    cache[storage.key] = _storage_array(archive, prefix, storage)
                return cache[storage.key]

            state = _Machine(archive.read(pickle_name), load_storage).run()
    except BrianModesError as err:
        raise BrianModesError(f"{path}: {err}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError, OverflowError,
            MemoryError) as err:
        raise BrianModesError(f"{path} is damaged or not a checkpoint ({type(err).__name__}: {err})") from None
    return _state_dict(state, path)


def _storage_array(archive, prefix, storage):
    name = f"{prefix}data/{storage.key}"
    try:
        info = archive.getinfo(name)
    except KeyError:
        _refuse(f"a tensor whose storage {storage.key!r} is missing from the archive")
    expected = storage.numel * storage.dtype.itemsize
    if info.file_size != expected or expected > MAX_STORAGE_BYTES:
        _refuse(f"storage {storage.key!r} holds {info.file_size} bytes, not the {expected} its record says")
    return np.frombuffer(archive.read(name), dtype=storage.dtype)


def _state_dict(state, path):
    if not isinstance(state, dict):
        raise BrianModesError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise BrianModesError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor; only state "
                                  "dicts of tensors are read")
        arrays[key] = value
    return arrays
