"""The one place that knows tf.distribute strategies.

Model builders and the Learner call `get_strategy()` and build their variables inside
its scope, so user code never needs `with strategy.scope()`.
"""

import tensorflow as tf

_NAMES = ("auto", "default")


def get_strategy(strategy=None):
    """Return a `tf.distribute.Strategy`.

    strategy: None (the strategy already in scope, else "auto"), a Strategy instance
    (returned as is), "default" (one device), or "auto" (MirroredStrategy when more
    than one GPU is visible, else the default strategy).
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy is None:
        if tf.distribute.has_strategy():
            return tf.distribute.get_strategy()
        strategy = "auto"
    if not isinstance(strategy, str) or strategy not in _NAMES:
        raise ValueError(
            f"Unknown strategy {strategy!r}: expected one of {list(_NAMES)} "
            "or a tf.distribute.Strategy."
        )
    if strategy == "auto" and len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
