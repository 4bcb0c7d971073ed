"""Export a checkpoint as ONNX: backbone + softmax, input (N, 1, 48, 48) float in [0, 1], output probabilities."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from fer_engine.io_utils import atomic_write
from fer_engine.models.checkpoint import ModelCard

INPUT_NAME = "faces"
OUTPUT_NAME = "probabilities"
OPSET = 17


class ProbabilityModel(nn.Module):
    """The model followed by a softmax, so the exported graph outputs class probabilities."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(faces), dim=1)


def export_onnx(model: nn.Module, card: ModelCard, path: str | os.PathLike, *, face_size: int = 48) -> Path:
    """Write `path` (atomically): dynamic batch, class names in the graph's metadata."""
    import onnx

    wrapped = ProbabilityModel(model).eval().cpu()
    example = torch.rand(2, 1, face_size, face_size)

    def write(tmp: Path) -> None:
        # The TorchScript-based exporter (dynamo=False): the dynamo exporter needs onnxscript, not installed here.
        with warnings.catch_warnings():
            # The input is always 48x48 grey: the tracer's notes about the model's size/channel branches are expected.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                wrapped,
                (example,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        graph = onnx.load(str(tmp))
        for key, value in (
            ("class_names", ",".join(card.class_names)),
            ("arch", card.arch),
            ("input", f"(N, 1, {face_size}, {face_size}) float32 grey in [0, 1]"),
        ):
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(graph, str(tmp))

    return atomic_write(path, write)


def onnx_probabilities(path: str | os.PathLike, faces, *, threads: int | None = None):
    """Probabilities from the exported graph with ONNX Runtime (CPU) for (N, 1, 48, 48) float32 faces."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(faces, dtype=np.float32)})[0]


def onnx_parity(model: nn.Module, path: str | os.PathLike, faces) -> float:
    """Largest absolute difference between PyTorch's and ONNX Runtime's probabilities on `faces`."""
    import numpy as np

    with torch.inference_mode():
        expected = ProbabilityModel(model).eval()(torch.as_tensor(np.asarray(faces, dtype=np.float32))).numpy()
    return float(np.abs(onnx_probabilities(path, faces) - expected).max())
