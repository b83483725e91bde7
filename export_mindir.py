"""Export a trained tracker as template / search (/ refine) graphs plus a JSON description.

    python export_mindir.py --ckpt CKPT --file_format MINDIR --output_dir export/
    python export_mindir.py --config configs/siammask_sharp.yaml --ckpt CKPT --file_format ONNX \
        --output_dir export_onnx/ [--file_name siammask] [--track.instance_size 255]
    python export_mindir.py --ckpt CKPT --file_format ONNX --output_dir export_onnx/ --targets 4

The experiment config comes from the checkpoint unless --config is given;
dotted overrides apply on top (the search graph's input size is
track.instance_size; SiamFC's search batch is track.scale_num). The graphs are
those the model's family declares (src/models/registry.py GraphSpec); see
src/export.py for them and the JSON (format_version 2, with its "decoder").
The result runs in ``eval.py --backend mindir|onnx --model_dir DIR`` and in
the C++ application ``ascend310_infer``. ``--targets N`` (N > 1) also writes a
search graph for N targets per call (``<name>_search_batch``), which runs the
multi-target tracker (src/tracker/multi.py) on the export with up to N targets.
"""
import argparse
import sys

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.config import ConfigError
from src.tracker.presets import cli_overrides, preset_help
from src.utils import ensure_output_dir


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Export Siamese trackers to MINDIR / ONNX / OpenVINO IR / AIR graphs")
    p.add_argument("--ckpt", "--ckpt_file", dest="ckpt", required=True, help="checkpoint to export")
    p.add_argument("--config", default=None, help="experiment YAML (default: the one stored in the checkpoint)")
    p.add_argument("--file_format", default="MINDIR", choices=["MINDIR", "ONNX", "OPENVINO", "AIR"],
                   help="MINDIR (MindSpore, Ascend 310), ONNX (onnxruntime, OpenVINO, the C++ app's CPU build), "
                        "OPENVINO (OpenVINO IR .xml + .bin: --backend openvino and the CPU build, no ONNX "
                        "conversion at load), AIR (Ascend toolkit)")
    p.add_argument("--output_dir", default="./export", help="where the graphs and <name>.json go")
    p.add_argument("--file_name", default=None, help="graph file prefix (default: the config name)")
    p.add_argument("--targets", type=int, default=1,
                   help="also export a search graph for this many targets per call (multi-target "
                        "tracking on the export; default 1: the one-target graphs only)")
    p.add_argument("--hp_preset", default=None,
                   help=preset_help())
    p.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    p.add_argument("--device_id", type=int, default=None)
    return p.parse_known_args(argv)


def main(argv=None):
    args, rest = parse_args(argv)
    from src.export import ExportError, export_checkpoint
    try:
        overrides = cli_overrides(rest, args.hp_preset)
        ensure_output_dir(args.output_dir)
        from src.device import setup_context
        setup_context(args.device_target, args.device_id)
        path = export_checkpoint(args.ckpt, args.output_dir, args.file_format, args.config, overrides,
                                 args.file_name, args.targets)
    except (ConfigError, ExportError, FileNotFoundError, ValueError) as e:
        sys.exit(f"export_mindir.py: {e}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
