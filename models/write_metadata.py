"""Write TFLite metadata into a BlazePose GHUM landmark model (run by build.py inside its venv).

The mediapipe Tasks runtime refuses a float32 image model without NormalizationOptions
metadata, and the legacy landmark models carry none. This needs mediapipe==0.10.21 (the last
release whose metadata writer imports), so build.py runs it in a throwaway venv:

    <venv>/bin/python models/write_metadata.py IN.tflite OUT.tflite VARIANT

Output is deterministic: the same input and writer versions give the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

INPUT_SHAPE = [1, 256, 256, 3]
# The landmark model's outputs in model order. The runtime (PoseLandmarksDetectorGraph) reads
# them by position, so the order must stay landmarks, pose flag, segmentation, heatmap, world.
OUTPUTS = [
    ("Identity", [1, 195], "landmarks", "39 landmarks x (x, y, z, visibility, presence)."),
    ("Identity_1", [1, 1], "pose_flag", "Pose presence score (logit)."),
    ("Identity_2", [1, 256, 256, 1], "segmentation", "Person segmentation mask (logits)."),
    ("Identity_3", [1, 64, 64, 39], "heatmap", "Per-landmark heatmaps."),
    ("Identity_4", [1, 117], "world_landmarks", "39 world landmarks x (x, y, z) in metres."),
]


def _shape(buffer: bytes, index: int, outputs: bool) -> list[int]:
    subgraph = writer_utils.get_subgraph(buffer)
    tensor_index = subgraph.Outputs(index) if outputs else subgraph.Inputs(index)
    return [int(d) for d in subgraph.Tensors(tensor_index).ShapeAsNumpy()]


def check_model(buffer: bytes) -> None:
    """Refuse a model whose tensors are not the BlazePose GHUM landmark layout we describe."""
    names = writer_utils.get_output_tensor_names(buffer)
    expected = [name for name, _, _, _ in OUTPUTS]
    if names != expected:
        raise SystemExit(f"unexpected output tensors {names}, expected {expected}")
    for i, (_, shape, _, _) in enumerate(OUTPUTS):
        if _shape(buffer, i, outputs=True) != shape:
            raise SystemExit(f"output {i} has shape {_shape(buffer, i, True)}, expected {shape}")
    if _shape(buffer, 0, outputs=False) != INPUT_SHAPE:
        raise SystemExit(f"input has shape {_shape(buffer, 0, False)}, expected {INPUT_SHAPE}")


def write(buffer: bytes, variant: str) -> bytes:
    """Return the model with metadata: RGB image in [0, 1] (mean 0, std 255) and five outputs."""
    check_model(buffer)
    writer = metadata_writer.MetadataWriter.create(bytearray(buffer))
    writer.add_general_info(
        f"BlazePose GHUM 3D pose landmarks ({variant})",
        "Pose landmark model from MediaPipe, licensed under Apache-2.0. "
        "Metadata written by posecheck models/build.py.",
    )
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    for _, _, name, description in OUTPUTS:
        writer.add_feature_output(name=name, description=description)
    model, _ = writer.populate()
    return bytes(model)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, variant = Path(argv[0]), Path(argv[1]), argv[2]
    dst.write_bytes(write(src.read_bytes(), variant))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
