import numpy as np
import tensorflow as tf

from kbert.data import TaskData


def make_data(n=200, seed=0, targets=True):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 60, size=n)
    rows = [list(range(100 + i, 100 + i + int(l))) for i, l in enumerate(lengths)]
    ids = tf.ragged.constant(rows, dtype=tf.int32)
    segs = tf.ragged.constant([[0] * int(l) for l in lengths], dtype=tf.int32)
    y = np.arange(n, dtype="int32") if targets else None
    return TaskData({"token_ids": ids, "segment_ids": segs}, y, preprocessor=None), lengths


def test_batches_are_padded_to_their_longest_row_rounded_to_8():
    data, lengths = make_data()
    seen = []
    for x, y in data.dataset(16, training=True, seed=3):
        longest = int(lengths[y.numpy()].max())
        width = x["token_ids"].shape[1]
        assert width == -(-longest // 8) * 8, (longest, width)
        mask = x["padding_mask"].numpy()
        np.testing.assert_array_equal(mask.sum(axis=1), lengths[y.numpy()])
        # the rows themselves are intact: first id identifies the row
        np.testing.assert_array_equal(x["token_ids"].numpy()[:, 0], 100 + y.numpy())
        seen.extend(y.numpy().tolist())
    assert sorted(seen) == list(range(len(lengths)))  # every row once per epoch


def test_length_bucketing_reduces_padding():
    data, lengths = make_data(n=800)
    bucketed = data.padded_share(32, training=True, seed=0)
    # random batches padded to their longest row, for comparison
    rng = np.random.default_rng(0)
    order = rng.permutation(len(lengths))
    real = padded = 0
    for i in range(0, len(order), 32):
        b = lengths[order[i:i + 32]]
        real += b.sum()
        padded += len(b) * (-(-b.max() // 8) * 8)
    random_share = 1 - real / padded
    assert bucketed < 0.5 * random_share, (bucketed, random_share)


def test_epochs_are_reshuffled_and_seeded():
    data, _ = make_data()
    ds = data.dataset(16, training=True, seed=7)
    first = np.concatenate([y.numpy() for _, y in ds])
    second = np.concatenate([y.numpy() for _, y in ds])
    assert not np.array_equal(first, second)
    again = np.concatenate([y.numpy() for _, y in data.dataset(16, training=True, seed=7)])
    np.testing.assert_array_equal(first, again)


def test_eval_order_is_restored():
    data, lengths = make_data(n=50)
    ys = np.concatenate([y.numpy() for _, y in data.dataset(8)])
    np.testing.assert_array_equal(lengths[ys], np.sort(lengths, kind="stable"))
    np.testing.assert_array_equal(data.restore_order(ys), np.arange(50))
    assert data.restore_order(list(ys)) == list(range(50))


def test_fixed_length_gives_static_width():
    data, _ = make_data(n=40)
    widths = {x["token_ids"].shape[1] for x, _ in data.dataset(8, fixed_length=64)}
    assert widths == {64}


def test_subset_keeps_rows():
    data, lengths = make_data(n=30)
    sub = data.subset([5, 2, 9])
    np.testing.assert_array_equal(sub.lengths, lengths[[5, 2, 9]])
    np.testing.assert_array_equal(sub.targets, [5, 2, 9])


def test_pad_multiple_one_pads_to_the_longest_row_exactly():
    data, lengths = make_data()
    for x, y in data.dataset(16, training=True, seed=3, pad_multiple=1):
        assert x["token_ids"].shape[1] == lengths[y.numpy()].max()
    assert data.padded_share(16, pad_multiple=1) < data.padded_share(16, pad_multiple=8)


def test_pad_multiple_follows_the_models_compilation():
    import keras

    from kbert.data import pad_multiple_for

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=False)
    assert pad_multiple_for(model) == 1
    model.compile("sgd", "mse", jit_compile=True)
    assert pad_multiple_for(model) == 8


def test_predict_on_batch_traces_once_for_any_batch_size_and_width():
    """Keras' predict_on_batch traces again for a new batch size, then for a new width
    (~1 s each for MiniLM); kbert's is one graph with unknown dimensions, same outputs."""
    import keras

    import kbert
    from conftest import sentiment_df, tiny_spec
    from kbert.data import predict_on_batch

    _, _, pre = kbert.text.texts_from_df(sentiment_df(32), "text", "label", preset=tiny_spec(), maxlen=32, verbose=0)
    model = kbert.text.text_classifier(pre, seed=0)
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    rng = np.random.default_rng(0)
    for rows, width in [(1, 5), (1, 9), (7, 9), (3, 4), (16, 30)]:
        ids = rng.integers(5, 40, (rows, width)).astype("int32")
        x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
        np.testing.assert_allclose(predict_on_batch(model, x), twin.predict_on_batch(x), atol=1e-6)
    spec, fn = model.__dict__["_kbert_predict_fn"]
    assert fn.experimental_get_tracing_count() == 1
    assert all(s.shape.as_list() == [None, None] for s in spec.values())
