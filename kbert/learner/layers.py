"""Layers and weights of the Learner's model: freeze / unfreeze, print_layers, layer_output,
reset_weights, save_model / load_model."""

import os
import re

import keras
import numpy as np

MODEL_FILE = "model.keras"
# Decoupled weight decay skips biases and LayerNorm scales/offsets (as BERT did).
NO_DECAY = ["bias", "gamma", "beta", "LayerNorm", "layer_norm"]


class LayersMixin:
    """freeze / unfreeze / print_layers / layer_output / reset_weights / save_model /
    load_model, mixed into Learner."""

    def backbone(self):
        """The model's encoder layer (the one with transformer_layers)."""
        for layer in self.model.layers:
            if hasattr(layer, "transformer_layers"):
                return layer
        raise ValueError("The model has no BERT backbone layer.")

    def freeze(self, freeze_range=None, encoder_layers=None):
        """Freezes layers of the model, with ktrain's meaning (the next fit compiles anew).

        Args:
            freeze_range: None: every layer before the last Dense layer is frozen and the
                rest trains (only the head, for kbert's classifiers); an int n: the first n
                layers of `model.layers` (see `print_layers()`) are frozen, the others train.
            encoder_layers: (kbert) instead, freeze the encoder's embeddings and its first
                `encoder_layers` transformer layers; everything else trains.

        Example:
        >>> # learner.freeze()                  # train the head only
        >>> # learner.freeze(encoder_layers=4)  # and the encoder's top layers
        """
        layers = self.model.layers
        if encoder_layers is not None:
            self.unfreeze()
            for layer in self.backbone().layers:
                if "embedding" in layer.name:
                    layer.trainable = False
            for i, layer in enumerate(self.backbone().transformer_layers):
                layer.trainable = i >= encoder_layers
            return
        if freeze_range is None:
            dense = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
            if not dense:
                raise ValueError("freeze() freezes the layers before the last Dense layer, and this model has "
                                 "none; give freeze_range=n to freeze its first n layers (learner.print_layers()).")
            freeze_range = dense[-1]
        elif isinstance(freeze_range, bool) or not isinstance(freeze_range, (int, np.integer)) or freeze_range < 1:
            raise ValueError(f"freeze_range must be a whole number of at least 1 (the first layers to freeze), "
                             f"got {freeze_range!r}.")
        for i, layer in enumerate(layers):
            layer.trainable = i >= freeze_range

    def unfreeze(self, exclude_range=None):
        """Makes every layer trainable, except the first `exclude_range` ones (ktrain)."""
        for i, layer in enumerate(self.model.layers):
            layer.trainable = not (exclude_range and i < exclude_range)

    def print_layers(self, show_wd=False, show_wts=False):
        """Prints `index (trainable=…) : name (class)` per layer of `model.layers` (ktrain's
        form), and the encoder's transformer layers under it.

        Args:
            show_wd: also the decoupled weight decay of the layer's weights (0 for biases
                and LayerNorm; the backbone's line shows the rate its kernels get).
            show_wts: also the shapes of the layer's weights.
        """
        for i, layer in enumerate(self.model.layers):
            state = f"trainable={layer.trainable}"
            if show_wd:
                # the rate its weights get when they train (frozen or not)
                decays = any(not any(re.search(n, w.name) for n in NO_DECAY) for w in layer.weights)
                state += f", wd={self.weight_decay if decays else 0}"
            line = f"{i} ({state}) : {layer.name} ({type(layer).__name__})"
            if show_wts:
                line += f" {[tuple(w.shape) for w in layer.weights]}"
            print(line)
            for sub in getattr(layer, "transformer_layers", []):
                print(f"    (trainable={sub.trainable}) : {sub.name}")

    def layer_output(self, layer_id, example_id=0, use_val=False):
        """The output of `model.layers[layer_id]` for one example of the training (or
        validation) data, with a batch dimension of 1 (ktrain's layer_output).

        Example:
        >>> # learner.layer_output(-2, example_id=3)   # the input of the last layer
        """
        data = self.val_data if use_val else self.train_data
        if data is None:
            raise ValueError("use_val=True needs val_data.")
        n_layers = len(self.model.layers)
        if not -n_layers <= layer_id < n_layers:
            raise IndexError(f"layer_id={layer_id}: the model has {n_layers} layers (learner.print_layers()).")
        if not 0 <= example_id < len(data):
            raise IndexError(f"example_id={example_id}: the {'validation' if use_val else 'training'} data has "
                             f"{len(data)} rows.")
        try:  # Sequential models have `inputs` only; functional ones keep their structure in `input`
            inputs = self.model.inputs if isinstance(self.model, keras.Sequential) else self.model.input
            sub = keras.Model(inputs, self.model.layers[layer_id].output)
        except (AttributeError, ValueError) as e:
            raise ValueError(f"layer_output needs a functional or Sequential model ({e}).") from None
        x = next(iter(data.subset([example_id]).dataset(1, training=False, with_targets=False)))
        return keras.tree.map_structure(np.asarray, sub.predict_on_batch(x))

    def reset_weights(self, verbose=1):
        """Puts back the weights the model had when the Learner was created."""
        self.model.set_weights(self._initial_weights)
        self.history = None
        if verbose:
            print("kbert: weights reset to those at get_learner time.")

    def save_model(self, fpath):
        """Saves the model into the folder `fpath` (ktrain: a folder), as `fpath/model.keras`
        (Keras' native format); the folder is created if needed and may be reused.

        Returns:
            The path of the .keras file.

        Example:
        >>> # learner.save_model("my-model"); learner.load_model("my-model")
        """
        fpath = os.fspath(fpath)
        if os.path.isfile(fpath):
            raise ValueError(f"There is a file named {fpath!r}; save_model writes a folder: use another path.")
        os.makedirs(fpath, exist_ok=True)
        target = os.path.join(fpath, MODEL_FILE)
        tmp = os.path.join(fpath, f".tmp-{os.getpid()}-{MODEL_FILE}")
        try:
            self.model.save(tmp)
            os.replace(tmp, target)  # a crash mid-save leaves the previous model in place
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return target

    def load_model(self, fpath, preproc=None, custom_objects=None):
        """Loads a model saved with save_model (a folder, or a .keras file) into
        `learner.model`. `preproc` is accepted and ignored, as in ktrain.

        Returns:
            The model.
        """
        fpath = os.fspath(fpath)
        path = os.path.join(fpath, MODEL_FILE) if os.path.isdir(fpath) else fpath
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No saved model at {fpath!r}: save_model(folder) writes "
                                    f"folder/{MODEL_FILE}.")
        with self.strategy.scope():
            self.model = keras.models.load_model(path, custom_objects=custom_objects, compile=False)
        return self.model


def layer_lr_multipliers(model, decay):
    """Layer-wise learning-rate decay: {variable path: factor} for `model`'s backbone.

    Encoder layer l of L (0 = the bottom, in the order the backbone runs them) gets
    decay^(L−l), the backbone's layers that run before the first encoder layer (embeddings,
    their LayerNorm and projection, DeBERTa's relative embeddings) decay^(L+1), and those
    after the last (a pooler, a final LayerNorm) and everything outside the backbone (the
    task head) 1: not listed. ALBERT's shared layer weights count as their groups (L = the
    number of groups).

    Args:
        model: a kbert task model (or any Keras model holding one keras-hub backbone).
        decay: the factor per layer, in (0, 1].

    Returns:
        A dict {variable.path: factor} for `kbert.optimizers.AdamW(lr_multipliers=...)`.

    Example:
    >>> # factors = layer_lr_multipliers(model, 0.9)     # MiniLM: 6 encoder layers
    >>> # factors["transformer_layer_5/self_attention_layer/query/kernel"]   # 0.9 (the top layer)
    >>> # factors["token_embedding/embeddings"]                              # 0.9 ** 7
    """
    from kbert.distill.student import encoder_blocks
    from kbert.models import find_backbone

    backbone = find_backbone(model)
    if backbone is None or not hasattr(backbone, "transformer_layers"):
        raise ValueError(f"lr_decay_rate needs a model with a keras-hub encoder backbone (its transformer layers are "
                         f"what it decays over); {getattr(model, 'name', type(model).__name__)} has none.")
    blocks = encoder_blocks(backbone)
    depth = len(blocks)
    factors = {}
    for i, block in enumerate(blocks):
        for w in block.weights:
            factors[w.path] = decay ** (depth - i)
    block_ids = {id(b) for b in blocks}
    first = min(i for i, layer in enumerate(backbone.layers) if id(layer) in block_ids)
    for layer in backbone.layers[:first]:  # (a functional model lists its layers in the order they run)
        for w in layer.weights:
            factors.setdefault(w.path, decay ** (depth + 1))
    return {path: f for path, f in factors.items() if f != 1.0}
