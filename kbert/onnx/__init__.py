"""kbert.onnx: the TensorFlow-free runtime of ONNX exports of kbert predictors.

    predictor.export("emotion-onnx", format="onnx", quantize=True)   # with TensorFlow (kbert.onnx.export)
    import kbert.onnx                                                # anywhere: onnxruntime + tokenizers + numpy
    kbert.onnx.load_predictor("emotion-onnx").predict(["I feel great"])

`import kbert.onnx` imports neither TensorFlow nor Keras; `kbert.onnx.export` (the
converter) does, and loads only when used.
"""

from kbert.onnx.predictor import OnnxPredictor, load_predictor

__all__ = ["OnnxPredictor", "load_predictor"]
