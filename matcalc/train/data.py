"""Training data: the embedded digits set, an MNIST IDX reader, the user's .npy arrays.

Train (stage 6). Consumes files (the packaged digits.csv.gz, IDX files, .npy arrays) and
produces a Dataset: float X of shape (samples, features) and int64 labels 0..K-1, split into
train and test. Dataset.columns() gives matcalc's features×N layout; check_inputs is what a
trainer calls before its first step. Every bad input raises DataError naming the file or
array and what is wrong with it; the split is stratified and reproducible (stratified_split).
The read_* and check functions return or check plain arrays with NumPy and the standard
library only: the standalone script (train/script.py) includes them verbatim.
"""
import gzip
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core.errors import MatcalcError

DIGITS_FILE = resources.files("matcalc.train") / "datasets" / "digits.csv.gz"

# IDX type byte → big-endian element type (the format stores every number big-endian).
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {"train images": "train-images-idx3-ubyte", "train labels": "train-labels-idx1-ubyte",
               "test images": "t10k-images-idx3-ubyte", "test labels": "t10k-labels-idx1-ubyte"}


class DataError(MatcalcError, ValueError):
    """A data file or array that cannot be trained on; the message names it and the fault."""


class Columns(NamedTuple):
    """A Dataset in matcalc's layout: X_train and X_test are features×N, C-contiguous."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True, eq=False, repr=False)   # eq on arrays would be ambiguous
class Dataset:
    """Labelled samples split into train and test, one sample per row of X.

    Examples
    --------
    >>> ds = Dataset(np.eye(3), np.array([0, 1, 2]), np.ones((2, 3)), np.array([2, 0]), 3, "toy")
    >>> ds
    Dataset('toy': 3 classes, 3 features, 3 train / 2 test, float64)
    >>> ds.one_hot(np.array([2, 0]))
    array([[0., 1.],
           [0., 0.],
           [1., 0.]])
    >>> ds.binary(0, 2).y_train
    array([0, 1])
    """
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str

    def __post_init__(self):
        for part in ("train", "test"):
            X = np.asarray(getattr(self, "X_" + part))
            y = np.asarray(getattr(self, "y_" + part))
            if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
                raise DataError(f"dataset {self.name!r}: X_{part} must be 2-D (samples × "
                                f"features) and y_{part} 1-D with as many labels; got shapes "
                                f"{X.shape} and {y.shape}")
            if not np.issubdtype(X.dtype, np.floating):
                X = X.astype(np.float64)
            object.__setattr__(self, "X_" + part, X)
            object.__setattr__(self, "y_" + part, _labels(y, f"y_{part} of {self.name!r}",
                                                          self.n_classes))
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise DataError(f"dataset {self.name!r}: X_train has {self.X_train.shape[1]} features "
                            f"per sample but X_test has {self.X_test.shape[1]}")

    def __repr__(self):
        return (f"Dataset({self.name!r}: {self.n_classes} classes, {self.n_features} features, "
                f"{len(self.y_train)} train / {len(self.y_test)} test, {self.X_train.dtype})")

    @property
    def n_features(self):
        return self.X_train.shape[1]

    def columns(self):
        """The same data with X transposed to features×N, matcalc's default layout."""
        return Columns(np.ascontiguousarray(self.X_train.T), self.y_train,
                       np.ascontiguousarray(self.X_test.T), self.y_test)

    def one_hot(self, y):
        """The n_classes×N one-hot matrix of labels y (columns layout), in X's float type."""
        y = _labels(np.asarray(y), "labels passed to one_hot", self.n_classes)
        Y = np.zeros((self.n_classes, len(y)), dtype=self.X_train.dtype)
        Y[y, np.arange(len(y))] = 1
        return Y

    def binary(self, a, b):
        """Only the samples of classes a and b, relabelled a → 0 and b → 1 (n_classes = 2)."""
        check_pair(a, b, self.n_classes, f"binary({a!r}, {b!r}) on {self.name!r}")
        return Dataset(*two_classes(self.X_train, self.y_train, a, b),
                       *two_classes(self.X_test, self.y_test, a, b), 2, f"{self.name} {a} vs {b}")

    def astype(self, dtype):
        """The same dataset with X cast to dtype (np.float32 halves memory); labels unchanged."""
        return Dataset(self.X_train.astype(dtype), self.y_train, self.X_test.astype(dtype),
                       self.y_test, self.n_classes, self.name)


def check_pair(a, b, n_classes, what):
    """Two different classes in 0..n_classes-1, or DataError saying so."""
    if a == b or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and
                         0 <= c < n_classes for c in (a, b)):
        raise DataError(f"{what}: need two different classes in 0..{n_classes - 1}, "
                        f"got {a!r} and {b!r}")


def two_classes(X, y, a, b):
    """(X, y) of the samples of classes a and b only, relabelled a → 0 and b → 1."""
    for c in (a, b):      # else a one-class model would train, and say nothing
        if not np.any(y == c):
            raise DataError(f"the two classes {a} and {b}: no sample has the label {c} (the "
                            f"labels here: {', '.join(str(v) for v in np.unique(y))})")
    keep = (y == a) | (y == b)
    return X[keep], (y[keep] == b).astype(np.int64)


def stratified_split(y, test_fraction=0.25, seed=0):
    """Indices (train, test), each ascending, with round(test_fraction · n_c) of class c in test.

    Classes are taken in ascending order; each class's sample indices are ordered by raw 64-bit
    draws of one PCG64 bit generator seeded with `seed`, and the first ones go to test. NumPy
    promises Generator method streams only on the same build, but PCG64's raw output and its
    SeedSequence seeding are fixed algorithms, so the split is the same on every machine and
    NumPy version (tests pin it). Halves round up: 44.5 test samples become 45.

    >>> train, test = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.5, seed=0)
    >>> len(train), len(test), sorted(set(range(8)) - set(train)) == list(test)
    (4, 4, True)
    """
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    if len(y) == 0:
        raise DataError("no samples to split: the labels are empty")
    bits = np.random.PCG64(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[np.argsort(bits.random_raw(idx.size), kind="stable")]
        n_test = int(idx.size * test_fraction + 0.5)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train, test = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    if train.size == 0 or test.size == 0:
        raise DataError(f"test_fraction {test_fraction} of {len(y)} samples leaves "
                        f"{train.size} to train on and {test.size} to test on; need at least "
                        f"one of each")
    return train, test


def _split(X, y, n_classes, name, test_fraction, seed):
    train, test = stratified_split(y, test_fraction, seed)
    return Dataset(X[train], y[train], X[test], y[test], n_classes, name)


def read_digits(source, scale=True):
    """(X, y) of the digits file: 1,797 rows of 64 pixels 0..16 (then / 16 when scale) and a
    label 0..9, checked."""
    try:
        with source.open("rb") as raw, gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise DataError(f"cannot read the digits file {source}: {e}") from e
    if table.shape != (1797, 65):
        raise DataError(f"digits file {source}: expected 1797 rows of 65 columns (64 pixels, "
                        f"then the label), got {table.shape[0]} rows of {table.shape[1]}")
    for what, values, top in (("pixel", table[:, :64], 16), ("label", table[:, 64], 9)):
        bad = np.argwhere((values != np.round(values)) | (values < 0) | (values > top))
        if bad.size:
            raise DataError(f"digits file {source}: {what} values must be integers 0..{top}; "
                            f"line {bad[0][0] + 1} has {values[tuple(bad[0])]}")
    X, y = table[:, :64], table[:, 64].astype(np.int64)
    return (X / 16 if scale else X), y


def load_digits(test_fraction=0.25, seed=0, scale=True):
    """The embedded 8×8 digits (UCI, as shipped by scikit-learn; CC BY 4.0, Alpaydin & Kaynak).

    1,797 samples of 64 pixels valued 0..16 (divided by 16 when scale=True), labels 0..9,
    split by stratified_split.

    >>> ds = load_digits()
    >>> ds
    Dataset('digits': 10 classes, 64 features, 1346 train / 451 test, float64)
    >>> float(ds.X_train.max())
    1.0
    """
    X, y = read_digits(DIGITS_FILE, scale)
    return _split(X, y, 10, "digits", test_fraction, seed)


def read_idx(path):
    """The array stored in an IDX file (MNIST's format), plain or gzipped, in native byte order.

    Layout: two zero bytes, a type byte (see IDX_TYPES), the number of dimensions (1..4), each
    dimension as a big-endian uint32, then the data, big-endian. Gzip is recognised by its magic
    bytes 1f 8b, whatever the file is called.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"cannot read IDX file {path}: {e.strerror or e}") from e
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"IDX file {path}: corrupt gzip data ({e})") from e
    if not raw:
        raise DataError(f"IDX file {path} is empty")
    if len(raw) < 4:
        raise DataError(f"IDX file {path}: only {len(raw)} bytes; an IDX header alone needs "
                        f"at least 4")
    if raw[:2] != b"\0\0":
        raise DataError(f"IDX file {path}: bad magic number {raw[:4].hex(' ')}; an IDX file "
                        f"starts with 00 00, a type byte and a dimension count")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise DataError(f"IDX file {path}: unknown type code 0x{code:02X}; expected one of {known}")
    if not 1 <= ndim <= 4:
        raise DataError(f"IDX file {path}: {ndim} dimensions; expected 1 to 4")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DataError(f"IDX file {path}: truncated header: {ndim} dimensions need {start} "
                        f"bytes, found {len(raw)}")
    dims = [int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4)]
    dtype = np.dtype(IDX_TYPES[code])
    count = int(np.prod(dims, dtype=object))     # Python ints: 4 dims of 2³² overflow int64
    expected, found = count * dtype.itemsize, len(raw) - start
    if found < expected:
        raise DataError(f"IDX file {path}: truncated: expected {expected} bytes of data, "
                        f"found {found} (dimensions {dims})")
    if found > expected:
        raise DataError(f"IDX file {path}: {found - expected} extra bytes: expected {expected} "
                        f"bytes of data, found {found} (dimensions {dims})")
    data = np.frombuffer(raw, dtype, count=count, offset=start).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def _find(data_dir, base):
    stems = (base, base.replace("-idx", ".idx"))   # also train-images.idx3-ubyte
    names = [s + gz for s in stems for gz in ("", ".gz")]
    return next((data_dir / n for n in names if (data_dir / n).is_file()), None), names


def read_mnist(data_dir, scale=True):
    """(X_train, y_train, X_test, y_test) from the four MNIST IDX files in data_dir (plain or
    gzipped); images (n, rows, cols) flattened to (n, rows·cols), pixels / 255 when scale."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"MNIST directory {data_dir} does not exist or is not a directory")
    found, missing = {}, []
    for role, base in MNIST_FILES.items():
        found[role], names = _find(data_dir, base)
        if found[role] is None:
            missing.append(f"{role} (looked for {', '.join(names)})")
    if missing:
        raise DataError(f"MNIST files missing in {data_dir}: " + "; ".join(missing))
    parts = []
    for part in ("train", "test"):
        ipath, lpath = found[f"{part} images"], found[f"{part} labels"]
        images, labels = read_idx(ipath), read_idx(lpath)
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(f"{ipath} must hold 3-D images (n, rows, cols) and {lpath} 1-D "
                            f"labels; got shapes {images.shape} and {labels.shape}")
        if len(images) == 0:
            raise DataError(f"{ipath} holds no images")
        if len(images) != len(labels):
            raise DataError(f"{ipath} holds {len(images)} images but {lpath} holds "
                            f"{len(labels)} labels")
        if scale and images.dtype != np.uint8:
            raise DataError(f"{ipath}: pixels are {images.dtype}, but scale=True divides by 255, "
                            f"which assumes unsigned bytes; pass scale=False",
                            cli=f"{ipath}: pixels are {images.dtype}, but --data-dir reads "
                                "MNIST pixels as unsigned bytes (0..255); save the images as "
                                "X.npy and the labels as y.npy and pass --data X.npy y.npy")
        X = images.reshape(len(images), -1).astype(np.float64)
        parts += [X / 255 if scale else X, _labels(labels, str(lpath), 10)]
    if parts[0].shape[1] != parts[2].shape[1]:
        raise DataError(f"train images in {data_dir} have {parts[0].shape[1]} pixels but test "
                        f"images have {parts[2].shape[1]}")
    return parts


def load_mnist(data_dir, scale=True):
    """MNIST (or any set in its four IDX files) from data_dir; pixels / 255 when scale=True.

    Images (n, rows, cols) are flattened to (n, rows·cols); labels must be 0..9.
    """
    return Dataset(*read_mnist(data_dir, scale), 10, "mnist")


def _load_npy(path, what):
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read {what} file {path}: {e}") from e
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{what} file {path} is an .npz archive; save one array with np.save")
    return array


def read_arrays(x_path, y_path):
    """(X, y, n_classes) from the user's .npy files: X (N × features, numeric) and y integer
    labels 0..K-1, shape (N,) or (N, 1), or one-hot of shape (N, K) with K > 1 (then
    n_classes = K, else the largest label + 1)."""
    X, y = _load_npy(x_path, "X"), _load_npy(y_path, "y")
    if X.ndim != 2:
        raise DataError(f"X file {x_path}: X must be 2-D (samples × features), got shape "
                        f"{X.shape}")
    if X.dtype.kind not in "biuf":      # bool, signed, unsigned, float; not complex or text
        raise DataError(f"X file {x_path}: X must hold real numbers, got dtype {X.dtype}")
    if len(X) == 0:
        raise DataError(f"X file {x_path} holds no samples (shape {X.shape})")
    X = X.astype(np.float64)
    _check_finite(X, f"X file {x_path}")
    n_classes = None
    if y.ndim == 2 and y.shape[1] > 1:
        n_classes = y.shape[1]
        one_hot = np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)
        if not one_hot.all():
            row = int(np.flatnonzero(~one_hot)[0])
            raise DataError(f"y file {y_path}: a 2-D y must be one-hot (N × K, one 1 per row); "
                            f"row {row} is {y[row].tolist()}")
        y = y.argmax(axis=1)
    elif y.ndim == 2:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"y file {y_path}: y must be 1-D labels or an N × K one-hot matrix, "
                        f"got shape {y.shape}")
    if len(y) != len(X):
        raise DataError(f"y file {y_path} has {len(y)} labels but X file {x_path} has "
                        f"{len(X)} samples")
    y = _labels(y, f"y file {y_path}", n_classes)
    return X, y, n_classes or int(y.max()) + 1


def load_arrays(x_path, y_path, test_fraction=0.25, seed=0):
    """The user's own data (see read_arrays), split stratified into train and test."""
    X, y, n_classes = read_arrays(x_path, y_path)
    return _split(X, y, n_classes, Path(x_path).stem, test_fraction, seed)


def check_inputs(X, y, n_features, n_classes, name="X", *, columns=False):
    """Raise DataError unless X and labels y fit a model with n_features inputs and n_classes.

    X is samples × features, or features × samples with columns=True (matcalc's layout).

    >>> check_inputs(np.zeros((5, 64)), np.arange(5), n_features=784, n_classes=10)
    Traceback (most recent call last):
    ...
    matcalc.train.data.DataError: X has 64 features per sample but the model's first layer expects 784
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or y.ndim != 1:
        raise DataError(f"{name} must be 2-D and its labels 1-D; got shapes {X.shape} and "
                        f"{y.shape}")
    samples, features = X.shape[::-1] if columns else X.shape
    if features != n_features:
        raise DataError(f"{name} has {features} features per sample but the model's first "
                        f"layer expects {n_features}")
    if len(y) != samples:
        raise DataError(f"{name} has {samples} samples but {len(y)} labels")
    _labels(y, f"the labels of {name}", n_classes)
    _check_finite(X, name, columns)


def _check_finite(X, name, columns=False):
    """The message gives the sample and feature, and the index in X's own layout."""
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        sample, feature = (j, i) if columns else (i, j)
        raise DataError(f"{name} has {int(bad.sum())} NaN or Inf values; the first is {X[i, j]} "
                        f"at sample {sample}, feature {feature} (row {i}, column {j})")


def _labels(y, name, n_classes=None):
    """y as int64 labels, checked to be integers in 0..n_classes-1 (or just ≥ 0)."""
    if y.dtype == bool or np.issubdtype(y.dtype, np.integer):
        labels = y.astype(np.int64)
    elif np.issubdtype(y.dtype, np.floating):
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise DataError(f"{name}: labels must be integers; label {y[i]} at index {i} is not")
        labels = y.astype(np.int64)
    else:
        raise DataError(f"{name}: labels must be integers, got dtype {y.dtype}")
    if labels.size and labels.min() < 0:
        i = int(np.flatnonzero(labels < 0)[0])
        raise DataError(f"{name}: label {labels[i]} at index {i} is negative; labels count "
                        f"classes from 0")
    if n_classes is not None and labels.size and labels.max() >= n_classes:
        i = int(np.flatnonzero(labels >= n_classes)[0])
        raise DataError(f"{name}: label {labels[i]} at index {i} is outside 0..{n_classes - 1} "
                        f"({n_classes} classes)")
    return labels
