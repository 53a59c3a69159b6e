"""The one place that knows tf.distribute strategies.

    strategy = kbert.distribute.get_strategy("mirrored")
    model = kbert.text.text_classifier(preproc, strategy=strategy)   # built in its scope
    learner = kbert.get_learner(model, trn, val, batch_size=64)      # global batch, split over replicas

Model builders and the Learner build variables, optimizer and metrics inside the model's
strategy scope, so user code never needs `with strategy.scope()`. Keras splits every
global batch evenly over the replicas.

Names: "auto" (TPU when a TPU cluster resolves, MirroredStrategy over all GPUs when more
than one is visible, else the default strategy), "default" (one device), "mirrored"
(all local GPUs, or the logical CPUs made by `split_cpu`), "multiworker"
(MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment variable), "tpu"
(TPUStrategy; `tpu_address=` or TPU_NAME, "local" on a TPU VM).
"""

import json
import os
import socket
import subprocess
import sys

import tensorflow as tf

from kbert.errors import StrategyError  # noqa: F401  (kbert.distribute.StrategyError)

NAMES = ("auto", "default", "mirrored", "multiworker", "tpu")
_cache = {}


def split_cpu(n):
    """Makes n logical CPU devices, so that MirroredStrategy has n replicas on a CPU machine.

    Must run before TensorFlow initialises its devices (before any model or tensor is made).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"split_cpu needs n ≥ 1, got {n}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == n:
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as e:
        raise StrategyError(
            f"split_cpu({n}) must run before TensorFlow initialises its devices ({e}). Call it right "
            "after `import kbert`, before building data or models.") from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def get_strategy(strategy=None, tpu_address=None):
    """Return a `tf.distribute.Strategy` (the same instance for the same name).

    strategy: None (the strategy in scope, else "auto"), a Strategy (returned as is), or
    one of "auto", "default", "mirrored", "multiworker", "tpu" (see the module docs).
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy is None:
        if tf.distribute.has_strategy():
            return tf.distribute.get_strategy()
        strategy = "auto"
    if not isinstance(strategy, str) or strategy not in NAMES:
        raise ValueError(f"Unknown strategy {strategy!r}: expected one of {list(NAMES)} or a tf.distribute.Strategy.")
    key = (strategy, tpu_address)
    if key not in _cache:
        _cache[key] = _make(strategy, tpu_address)
    return _cache[key]


def _make(name, tpu_address):
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "auto":
        if tpu_address or os.environ.get("TPU_NAME") or _tpu_devices_visible():
            try:
                return _tpu(tpu_address)
            except StrategyError:
                pass
        if len(tf.config.list_logical_devices("GPU")) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy(devices=[d.name for d in gpus])  # NCCL all-reduce
        # Logical CPUs share one memory: summing the gradients on one of them and handing the sum
        # back costs ~1 ms a step for MiniLM, against ~35 ms for the collective all-reduce that
        # MirroredStrategy picks for CPUs by default (it chunks and copies as between machines).
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(
            devices=cpus, cross_device_ops=tf.distribute.ReductionToOneDevice(reduce_to_device=cpus[0]))
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise StrategyError(
                'strategy="multiworker" reads the cluster from the TF_CONFIG environment variable, which is '
                'not set. Example for worker 0 of 2: TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
                '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\'. '
                "kbert.distribute.local_cluster(n, command) starts n workers on this machine.")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as e:
            raise StrategyError(f"TF_CONFIG is not valid JSON: {e}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu(tpu_address)


def _tpu_devices_visible():
    return bool(tf.config.list_logical_devices("TPU"))


def _tpu(address):
    address = address if address is not None else os.environ.get("TPU_NAME", "local")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        if address not in ("", "local"):
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        if not tf.config.list_logical_devices("TPU"):
            raise RuntimeError("no TPU devices are visible")
    except Exception as e:  # the resolver raises several types when there is no TPU
        raise StrategyError(
            f'strategy="tpu" could not reach a TPU at {address!r}: {type(e).__name__}: {e}. On a TPU VM use '
            'tpu_address="local"; for a TPU node pass its name or grpc:// address (or set TPU_NAME).') from None
    return tf.distribute.TPUStrategy(resolver)


def is_multiworker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


_reduce_patched = False


def _patch_keras_multiworker_reduce():
    """Keras 3 reduces per-replica logs under MultiWorkerMirroredStrategy with
    strategy.reduce("MEAN", v, axis=0), which fails for the scalar metric results
    ("Invalid reduction dimension 0 for input with 0 dimensions"; keras-team/keras#20585).
    Scalars are reduced with axis=None instead (the mean over replicas, as Keras does
    under MirroredStrategy); everything else goes to Keras' own function."""
    global _reduce_patched
    if _reduce_patched:
        return
    from keras.src.backend.tensorflow import trainer as keras_tf_trainer

    original = keras_tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if is_multiworker(strategy) and reduction in ("auto", "mean"):
            from keras.src import tree

            def _reduce(v):
                if isinstance(v, tf.distribute.DistributedValues):
                    rank = strategy.experimental_local_results(v)[0].shape.rank
                    return strategy.reduce("MEAN", v, axis=0 if rank else None)
                return v

            return tree.map_structure(_reduce, values)
        return original(values, strategy, reduction)

    keras_tf_trainer.reduce_per_replica = reduce_per_replica
    _reduce_patched = True


def patch_symbolic_build(model, sample_batch):
    """Keras 3 builds a model's metrics by reducing one distributed batch with
    strategy.reduce, which MultiWorkerMirroredStrategy can not do for dict inputs
    (keras-team/keras#20329, #20585). Under that strategy kbert builds them from a
    local batch instead (only its shapes and dtypes are used). sample_batch: a function
    returning one (inputs, targets) batch."""
    if not is_multiworker(model.distribute_strategy) or getattr(model, "_kbert_build_patched", False):
        return
    _patch_keras_multiworker_reduce()

    def build(iterator=None, data_batch=None):
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=sample_batch())

    object.__setattr__(model, "_maybe_symbolic_build", build)
    object.__setattr__(model, "_kbert_build_patched", True)


def _tf_config():
    """TF_CONFIG as a dict ({} when unset or not valid JSON: then this is a single process)."""
    try:
        return json.loads(os.environ.get("TF_CONFIG", "{}"))
    except ValueError:
        return {}


def worker_index():
    """This process's index in a TF_CONFIG cluster (0 when there is none)."""
    task = _tf_config().get("task", {})
    return int(task.get("index", 0)) if task.get("type", "worker") in ("worker", "chief") else 0


def is_chief():
    """True for the process that writes checkpoints and reports (worker 0 without a chief task)."""
    config = _tf_config()
    task = config.get("task", {})
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def add_arguments(parser):
    """The recipes' flags: --strategy, --cpu-devices, --tpu-address."""
    parser.add_argument("--strategy", default="auto", choices=list(NAMES),
                        help="tf.distribute strategy (multiworker reads TF_CONFIG)")
    parser.add_argument("--cpu-devices", type=int, default=None,
                        help="split the CPU into N logical devices (MirroredStrategy on a CPU machine)")
    parser.add_argument("--tpu-address", default=None, help='TPU name or grpc:// address ("local" on a TPU VM)')
    return parser


def from_arguments(args):
    """The strategy the recipes' flags ask for (call it before building data or models)."""
    if getattr(args, "cpu_devices", None):
        split_cpu(args.cpu_devices)
    strategy = get_strategy(args.strategy, tpu_address=getattr(args, "tpu_address", None))
    if strategy.num_replicas_in_sync > 1 or args.strategy != "auto":
        print(f"kbert: strategy {type(strategy).__name__} with {strategy.num_replicas_in_sync} replicas"
              + (f" (worker {worker_index()})" if is_multiworker(strategy) else ""))
    return strategy


def worker_path(path):
    """path on the chief; path-workerN on other workers (so that they never write the same files)."""
    return path if is_chief() else f"{os.fspath(path).rstrip(os.sep)}-worker{worker_index()}"


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_configs(n, ports=None):
    """TF_CONFIG values (JSON strings) for n workers on localhost."""
    ports = ports or _free_ports(n)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(n)]


def local_cluster(n, command, env=None, cwd=None, stdout=None, stderr=None):
    """Starts n worker processes on this machine, each running `command` (a list, e.g.
    [sys.executable, "recipes/emotion.py", "--strategy", "multiworker"]) with its own
    TF_CONFIG. Returns the `subprocess.Popen` objects (wait on them).

    For trying MultiWorkerMirroredStrategy on one machine; on several machines set
    TF_CONFIG on each instead (see the README).
    """
    procs = []
    for config in tf_configs(n):
        worker_env = dict(os.environ if env is None else env)
        worker_env["TF_CONFIG"] = config
        procs.append(subprocess.Popen(list(command), env=worker_env, cwd=cwd, stdout=stdout, stderr=stderr))
    return procs


def main(argv=None):
    """python -m kbert.distribute N COMMAND…: runs COMMAND as N local workers, waits for all."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python -m kbert.distribute N COMMAND [ARGS…]", file=sys.stderr)
        return 2
    procs = local_cluster(int(argv[0]), argv[1:])
    codes = [p.wait() for p in procs]
    return max(codes, key=abs)


if __name__ == "__main__":
    sys.exit(main())
