"""Tests of data.py: the digits split, IDX round trips and rejections, MNIST, .npy, check_inputs."""
import gzip

import numpy as np
import pytest

from matcalc.train import data
from matcalc.train.data import (DataError, Dataset, check_inputs, load_arrays, load_digits, load_mnist,
                          read_idx, stratified_split)
from matcalc.core.errors import MatcalcError

DIGITS_PER_CLASS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def digits_table():
    """The packaged file read independently of data.py: 1797 rows of 64 pixels and a label."""
    with data.DIGITS_FILE.open("rb") as raw, gzip.open(raw, "rt") as f:
        return np.loadtxt(f, delimiter=",")


def raises(fragment, func, *args, **kwargs):
    """Call func, expect DataError, and check that fragment is in its message."""
    with pytest.raises(DataError) as info:
        func(*args, **kwargs)
    assert fragment in str(info.value), str(info.value)
    return str(info.value)


# ---------------------------------------------------------------- digits

def test_data_error_is_a_matcalc_value_error():
    assert issubclass(DataError, MatcalcError) and issubclass(DataError, ValueError)


def test_digits_sizes_ranges_and_types(digits):
    assert digits.name == "digits" and digits.n_classes == 10 and digits.n_features == 64
    assert digits.X_train.shape == (1346, 64) and digits.X_test.shape == (451, 64)
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert abs(len(digits.y_test) / 1797 - 0.25) < 0.005
    assert digits.X_train.dtype == np.float64 and digits.y_train.dtype == np.int64
    both = np.concatenate([digits.X_train, digits.X_test])
    assert both.min() == 0.0 and both.max() == 1.0
    assert set(np.unique(both * 16)) <= set(range(17))      # k/16 exactly
    assert set(digits.y_train) == set(digits.y_test) == set(range(10))
    assert repr(digits) == ("Dataset('digits': 10 classes, 64 features, 1346 train / 451 test, "
                            "float64)")


def test_digits_split_is_stratified(digits):
    test_counts = np.bincount(digits.y_test, minlength=10)
    train_counts = np.bincount(digits.y_train, minlength=10)
    assert (train_counts + test_counts).tolist() == DIGITS_PER_CLASS
    expected = 0.25 * np.array(DIGITS_PER_CLASS)
    assert np.all(np.abs(test_counts - expected) <= 1)
    # round half up: 44.5 → 45, 45.5 → 46, 43.5 → 44
    assert test_counts.tolist() == [45, 46, 44, 46, 45, 46, 45, 45, 44, 45]


def test_digits_split_is_reproducible_and_pinned(digits, digits_table):
    again = load_digits(seed=0)
    assert np.array_equal(again.X_train, digits.X_train)
    assert np.array_equal(again.y_test, digits.y_test)
    other = load_digits(seed=1)
    assert not np.array_equal(other.y_train, digits.y_train)
    assert np.bincount(other.y_test).tolist() == np.bincount(digits.y_test).tolist()
    # Pinned: a change of NumPy or of the split rule that moves samples fails here.
    train, test = stratified_split(digits_table[:, 64].astype(int), 0.25, seed=0)
    assert test[:10].tolist() == [4, 10, 13, 20, 28, 30, 31, 37, 38, 42]
    assert int(test.sum()) == 392450
    assert np.array_equal(digits.X_test * 16, digits_table[test, :64])
    assert np.array_equal(digits.y_train, digits_table[train, 64])
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(1797))


def test_digits_unscaled_and_other_fraction(digits):
    raw = load_digits(scale=False)
    assert raw.X_train.max() == 16.0
    assert np.array_equal(raw.X_train / 16, digits.X_train)
    half = load_digits(test_fraction=0.5)
    assert np.bincount(half.y_test).tolist() == [89, 91, 89, 92, 91, 91, 91, 90, 87, 90]


def test_columns_layout(digits):
    c = digits.columns()
    assert c.X_train.shape == (64, 1346) and c.X_test.shape == (64, 451)
    assert c.X_train.flags.c_contiguous
    assert np.array_equal(c.X_test, digits.X_test.T)
    assert c.y_train is digits.y_train


def test_one_hot(digits):
    Y = digits.one_hot(digits.y_test)
    assert Y.shape == (10, 451) and Y.dtype == np.float64
    assert np.array_equal(Y.sum(axis=0), np.ones(451))
    assert np.array_equal(Y.argmax(axis=0), digits.y_test)
    assert set(np.unique(Y)) == {0.0, 1.0}
    assert digits.astype(np.float32).one_hot([1]).dtype == np.float32
    raises("label 10 at index 1 is outside 0..9", digits.one_hot, [3, 10])


def test_binary(digits):
    b = digits.binary(3, 8)
    assert b.n_classes == 2 and b.name == "digits 3 vs 8"
    assert set(b.y_train) == set(b.y_test) == {0, 1}
    assert np.bincount(b.y_train).tolist() == [137, 130]
    assert np.bincount(b.y_test).tolist() == [46, 44]
    assert np.array_equal(b.X_train, digits.X_train[np.isin(digits.y_train, (3, 8))])
    assert np.array_equal(b.y_test, (digits.y_test[np.isin(digits.y_test, (3, 8))] == 8))
    raises("need two different classes in 0..9", digits.binary, 3, 3)
    raises("binary(3, 10)", digits.binary, 3, 10)


def test_astype(digits):
    f = digits.astype(np.float32)
    assert f.X_train.dtype == f.X_test.dtype == np.float32
    assert np.allclose(f.X_train, digits.X_train, atol=1e-7)
    assert f.y_train.dtype == np.int64 and np.array_equal(f.y_train, digits.y_train)


def test_dataset_validates_its_arrays():
    raises("X_train must be 2-D", Dataset, np.ones((3, 2)), np.zeros(2, int),
           np.ones((1, 2)), np.zeros(1, int), 2, "bad")
    raises("X_train has 2 features per sample but X_test has 3", Dataset, np.ones((3, 2)),
           np.zeros(3, int), np.ones((1, 3)), np.zeros(1, int), 2, "bad")
    raises("label 2 at index 0 is outside 0..1", Dataset, np.ones((1, 2)), np.array([2]),
           np.ones((1, 2)), np.array([0]), 2, "bad")


@pytest.mark.parametrize("content, fragment", [
    (gzip.compress(b"1,2\n3,4\n"), "expected 1797 rows of 65 columns"),
    (gzip.compress(("0," * 64 + "0\n").encode() * 1796 + ("17," * 64 + "3\n").encode()),
     "pixel values must be integers 0..16; line 1797 has 17.0"),
    (gzip.compress(("0," * 64 + "10\n").encode() * 1797), "label values must be integers 0..9"),
    (b"not gzip at all", "cannot read the digits file"),
])
def test_bad_digits_file_names_the_file(tmp_path, monkeypatch, content, fragment):
    path = tmp_path / "digits.csv.gz"
    path.write_bytes(content)
    monkeypatch.setattr(data, "DIGITS_FILE", path)
    message = raises(fragment, load_digits)
    assert str(path) in message


def test_split_arguments_are_checked():
    y = np.array([0, 0, 1, 1])
    raises("test_fraction must be between 0 and 1", stratified_split, y, 1.0)
    raises("test_fraction must be between 0 and 1", stratified_split, y, 0)
    raises("seed must be a non-negative integer, got -1", stratified_split, y, 0.5, -1)
    raises("leaves 4 to train on and 0 to test on", stratified_split, y, 0.1)
    raises("no samples to split", stratified_split, y[:0])


# ---------------------------------------------------------------- IDX

CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array, code=None):
    """An IDX file written from the format description, independently of read_idx."""
    kind = array.dtype.str[1:]
    head = bytes([0, 0, CODES[kind] if code is None else code, array.ndim])
    head += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return head + array.astype(">" + kind).tobytes()


def write_idx(path, array, gz=False):
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


RNG = np.random.default_rng(7)
ARRAYS = {
    "ubyte images": RNG.integers(0, 256, (3, 4, 5)).astype(np.uint8),
    "ubyte labels": np.array([0, 9, 3], dtype=np.uint8),
    "int8": np.array([[-128, 127], [0, -1]], dtype=np.int8),
    "int16": np.array([-30000, 2, 30000], dtype=np.int16),
    "int32": RNG.integers(-2**31, 2**31 - 1, (2, 3, 2, 2)).astype(np.int32),
    "float32": RNG.standard_normal((4, 3)).astype(np.float32),
    "float64": np.array([[np.pi, -1e300], [5e-324, 0.0]]),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("name", ARRAYS)
def test_read_idx_round_trips_exactly(tmp_path, name, gz):
    array = ARRAYS[name]
    got = read_idx(write_idx(tmp_path / "a.idx", array, gz))
    assert got.dtype == array.dtype and got.dtype.isnative
    assert got.shape == array.shape and np.array_equal(got, array)
    assert got.flags.writeable


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    array = ARRAYS["ubyte images"]
    assert np.array_equal(read_idx(write_idx(tmp_path / "plain-named", array, gz=True)), array)
    assert np.array_equal(read_idx(write_idx(tmp_path / "x.gz", array, gz=False)), array)


GOOD = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))     # 4 + 8 header, 6 data


@pytest.mark.parametrize("content, fragment", [
    (b"", "is empty"),
    (b"\x01\x00" + GOOD[2:], "bad magic number 01 00 08 02"),
    (b"\x00\x00\x08", "only 3 bytes; an IDX header alone needs at least 4"),
    (GOOD[:2] + b"\x07" + GOOD[3:], "unknown type code 0x07; expected one of 0x08, 0x09"),
    (GOOD[:3] + b"\x00" + GOOD[4:], "0 dimensions; expected 1 to 4"),
    (GOOD[:3] + b"\x05" + GOOD[4:], "5 dimensions; expected 1 to 4"),
    (GOOD[:10], "truncated header: 2 dimensions need 12 bytes, found 10"),
    (GOOD[:-1], "truncated: expected 6 bytes of data, found 5"),
    (GOOD + b"\x00\x00", "2 extra bytes: expected 6 bytes of data, found 8"),
    (b"\x1f\x8b" + b"garbage after the gzip magic", "corrupt gzip data"),
    (gzip.compress(GOOD)[:-6], "corrupt gzip data"),
    (gzip.compress(b"hello, not IDX"), "bad magic number 68 65 6c 6c"),
])
def test_read_idx_rejects_bad_files(tmp_path, content, fragment):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(content)
    message = raises(fragment, read_idx, path)
    assert str(path) in message


def test_read_idx_missing_file(tmp_path):
    message = raises("cannot read IDX file", read_idx, tmp_path / "nope")
    assert "nope" in message and "No such file" in message


# ---------------------------------------------------------------- MNIST

def write_mnist(folder, n_train=6, n_test=4, rows=28, cols=28, dotted=False):
    rng = np.random.default_rng(3)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, rows, cols)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, rows, cols)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test)}
    for name, array in arrays.items():
        name = name.replace("-idx", ".idx") if dotted else name
        write_idx(folder / name, array.astype(np.uint8), gz=name.endswith(".gz"))
    return list(arrays.values())


@pytest.mark.parametrize("dotted", [False, True])
def test_load_mnist(tmp_path, dotted):
    images, labels, test_images, test_labels = write_mnist(tmp_path, dotted=dotted)
    ds = load_mnist(tmp_path)
    assert ds.name == "mnist" and ds.n_classes == 10
    assert ds.X_train.shape == (6, 784) and ds.X_test.shape == (4, 784)
    assert np.array_equal(ds.X_train, images.reshape(6, 784) / 255)
    assert np.array_equal(ds.y_test, test_labels) and ds.y_test.dtype == np.int64
    assert 0 <= ds.X_train.min() and ds.X_train.max() <= 1
    raw = load_mnist(str(tmp_path), scale=False)
    assert np.array_equal(raw.X_test, test_images.reshape(4, 784))


def test_load_mnist_other_image_size(tmp_path):
    write_mnist(tmp_path, rows=3, cols=5)
    assert load_mnist(tmp_path).X_train.shape == (6, 15)


def test_load_mnist_missing_file(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    message = raises("MNIST files missing in", load_mnist, tmp_path)
    assert message.endswith("test labels (looked for t10k-labels-idx1-ubyte, "
                            "t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, "
                            "t10k-labels.idx1-ubyte.gz)")
    raises("does not exist or is not a directory", load_mnist, tmp_path / "nowhere")


def test_load_mnist_count_mismatch(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    message = raises("holds 4 images but", load_mnist, tmp_path)
    assert message == (f"{tmp_path / 't10k-images-idx3-ubyte'} holds 4 images but "
                       f"{tmp_path / 't10k-labels-idx1-ubyte'} holds 5 labels")


def test_load_mnist_rejects_bad_contents(tmp_path):
    write_mnist(tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(labels, np.array([1, 2, 10, 3], np.uint8))
    message = raises("label 10 at index 2 is outside 0..9", load_mnist, tmp_path)
    assert str(labels) in message
    write_idx(labels, np.zeros((4, 1), np.uint8))
    raises("must hold 3-D images (n, rows, cols)", load_mnist, tmp_path)
    write_idx(labels, np.zeros(4, np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.float32))
    raises("pixels are float32, but scale=True divides by 255", load_mnist, tmp_path)
    assert load_mnist(tmp_path, scale=False).X_test.shape == (4, 784)


# ---------------------------------------------------------------- .npy arrays

def save(tmp_path, X, y):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return tmp_path / "X.npy", tmp_path / "y.npy"


X40 = np.arange(120, dtype=np.float64).reshape(40, 3)
Y40 = np.arange(40) % 4


def test_load_arrays(tmp_path):
    ds = load_arrays(*save(tmp_path, X40, Y40))
    assert ds.name == "X" and ds.n_classes == 4 and ds.n_features == 3
    # 10 per class, 2.5 rounds up to 3 test samples per class
    assert np.bincount(ds.y_test).tolist() == [3, 3, 3, 3]
    assert len(ds.y_train) == 28
    assert np.array_equal(ds.X_train[:, 0] // 3 % 4, ds.y_train)   # rows keep their labels
    assert np.array_equal(ds.X_train, load_arrays(*save(tmp_path, X40, Y40)).X_train)


@pytest.mark.parametrize("y", [np.eye(4, dtype=np.int64)[Y40], np.eye(4)[Y40], Y40[:, None],
                               Y40.astype(np.float32), Y40.astype(np.uint8)],
                         ids=["one-hot", "one-hot float", "column", "float", "uint8"])
def test_load_arrays_accepts_label_forms(tmp_path, y):
    ds = load_arrays(*save(tmp_path, X40.astype(np.int32), y))
    (tmp_path / "ref").mkdir()
    reference = load_arrays(*save(tmp_path / "ref", X40, Y40))
    assert ds.n_classes == 4 and ds.X_train.dtype == np.float64
    assert np.array_equal(ds.X_test, reference.X_test)
    assert np.array_equal(ds.y_train, reference.y_train)


def test_one_hot_y_keeps_empty_classes(tmp_path):
    ds = load_arrays(*save(tmp_path, X40, np.eye(6)[Y40]))
    assert ds.n_classes == 6


@pytest.mark.parametrize("X, y, fragment", [
    (X40[:, 0], Y40, "X must be 2-D (samples × features), got shape (40,)"),
    (X40.reshape(40, 3, 1), Y40, "X must be 2-D (samples × features), got shape (40, 3, 1)"),
    (X40.astype(complex), Y40, "X must hold real numbers, got dtype complex128"),
    (X40, Y40[:39], "has 39 labels but X file"),
    (X40, np.where(Y40 == 3, 2.5, Y40), "labels must be integers; label 2.5 at index 3 is not"),
    (X40, Y40.astype(str), "labels must be integers, got dtype <U21"),
    (X40, np.where(np.arange(40) == 7, -1, Y40), "label -1 at index 7 is negative"),
    (X40, np.eye(4)[Y40] * 2, "a 2-D y must be one-hot (N × K, one 1 per row); row 0 is"),
    (X40, np.ones((40, 2, 2)), "y must be 1-D labels or an N × K one-hot matrix"),
    (X40[:0], Y40[:0], "holds no samples (shape (0, 3))"),
])
def test_load_arrays_rejects(tmp_path, X, y, fragment):
    x_path, y_path = save(tmp_path, X, y)
    message = raises(fragment, load_arrays, x_path, y_path)
    assert str(x_path) in message or str(y_path) in message


def test_load_arrays_length_mismatch_names_both(tmp_path):
    x_path, y_path = save(tmp_path, X40, Y40[:39])
    assert raises("", load_arrays, x_path, y_path) == (
        f"y file {y_path} has 39 labels but X file {x_path} has 40 samples")


def test_load_arrays_nonfinite_count_and_position(tmp_path):
    X = X40.copy()
    X[5, 2], X[9, 0], X[30, 1] = np.nan, np.inf, -np.inf
    x_path, y_path = save(tmp_path, X, Y40)
    assert raises("", load_arrays, x_path, y_path) == (
        f"X file {x_path} has 3 NaN or Inf values; the first is nan at sample 5, feature 2 "
        f"(row 5, column 2)")


def test_load_arrays_bad_files(tmp_path):
    x_path, y_path = save(tmp_path, X40, Y40)
    raises(f"cannot read y file {tmp_path / 'missing.npy'}", load_arrays, x_path,
           tmp_path / "missing.npy")
    (tmp_path / "text.npy").write_text("1,2,3\n")
    raises(f"cannot read X file {tmp_path / 'text.npy'}", load_arrays, tmp_path / "text.npy",
           y_path)
    np.savez(tmp_path / "both.npz", X=X40)
    raises("is an .npz archive; save one array with np.save", load_arrays,
           tmp_path / "both.npz", y_path)
    np.save(tmp_path / "objects.npy", np.array([{}, 1], dtype=object))
    raises("cannot read y file", load_arrays, x_path, tmp_path / "objects.npy")


# ---------------------------------------------------------------- check_inputs

def message_of(*args, **kwargs):
    with pytest.raises(DataError) as info:
        check_inputs(*args, **kwargs)
    return str(info.value)


def test_check_inputs_accepts_good_data(digits):
    assert check_inputs(digits.X_train, digits.y_train, 64, 10) is None
    assert check_inputs(digits.columns().X_test, digits.y_test, 64, 10, columns=True) is None


def test_check_inputs_messages(digits):
    assert message_of(digits.X_train, digits.y_train, 784, 10) == (
        "X has 64 features per sample but the model's first layer expects 784")
    assert message_of(digits.X_test.T, digits.y_test, 784, 10, "test data", columns=True) == (
        "test data has 64 features per sample but the model's first layer expects 784")
    y = np.array([0, 1, 2, 12, 3])
    assert message_of(np.zeros((5, 4)), y, 4, 10) == (
        "the labels of X: label 12 at index 3 is outside 0..9 (10 classes)")
    assert message_of(np.zeros((5, 4)), -y, 4, 10) == (
        "the labels of X: label -1 at index 1 is negative; labels count classes from 0")
    assert message_of(np.zeros((5, 4)), y / 2, 4, 10) == (
        "the labels of X: labels must be integers; label 0.5 at index 1 is not")
    assert message_of(np.zeros((5, 4)), y[:4], 4, 13) == "X has 5 samples but 4 labels"
    assert message_of(np.array([["a"]]), y, 4, 13) == "X must hold real numbers, got dtype <U1"
    assert message_of(np.zeros(4), y, 4, 13) == (
        "X must be 2-D and its labels 1-D; got shapes (4,) and (5,)")


def test_check_inputs_nonfinite_in_both_layouts():
    X = np.zeros((5, 4))
    X[2, 3], X[4, 0] = np.inf, np.nan
    y = np.zeros(5, int)
    assert message_of(X, y, 4, 2, "train") == (
        "train has 2 NaN or Inf values; the first is inf at sample 2, feature 3 (row 2, column 3)")
    assert message_of(X.T, y, 4, 2, "train", columns=True) == (
        "train has 2 NaN or Inf values; the first is nan at sample 4, feature 0 (row 0, column 4)")
