"""python -m mnistdraw {train,evaluate,serve,explain,samples}: train the model, score it, serve the
page, show why it read a drawing, or make the sample drawings."""

import argparse
import sys
from pathlib import Path

from . import DEFAULT_MODEL_NAME, MODELS_DIR

TRAIN_HELP = "train the CNN, export ONNX and its model card"


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from .train import RECIPE

    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    parser.add_argument("--seed", type=int, default=RECIPE["seed"])
    parser.add_argument(
        "--members",
        type=int,
        default=RECIPE["members"],
        help="train this many CNNs and export their average as one model",
    )
    parser.add_argument("--lr", type=float, default=RECIPE["learning_rate"])
    parser.add_argument("--subset", type=int, help="train on the first N digits only")
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--name", default=DEFAULT_MODEL_NAME)
    parser.add_argument(
        "--members-from",
        type=Path,
        help="skip training: calibrate, export and score the members that an earlier run "
        "kept in this folder (reports/members), with the same options",
    )


def run_train(args: argparse.Namespace, command: str) -> int:
    from .train import train

    train(
        args.out_dir,
        args.name,
        subset=args.subset,
        command=command,
        members_from=args.members_from,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        members=args.members,
        learning_rate=args.lr,
    )
    return 0


def train_main(argv: list[str], prog: str) -> int:
    """Training alone, for cgi-bin/train.py: its options without a `train` subcommand."""
    from .train import command_line

    parser = argparse.ArgumentParser(prog=prog, description=TRAIN_HELP)
    add_train_arguments(parser)
    return run_train(parser.parse_args(argv), command_line([prog, *argv]))


def main(argv=None, prog="python -m mnistdraw"):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_train_arguments(commands.add_parser("train", help=TRAIN_HELP))

    evaluate = commands.add_parser("evaluate", help="score the ONNX model on the MNIST test set")
    evaluate.add_argument("--model", type=Path, default=MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx")
    evaluate.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help="where the confusion matrix, misclassified digits and reliability diagram go",
    )
    evaluate.add_argument(
        "--non-digits",
        type=int,
        default=3000,
        help="also measure refusal on this many non-digits from held-out sources (0: none)",
    )

    serve = commands.add_parser("serve", help="run the persistent server (gunicorn + uvicorn)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)"
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")

    explain = commands.add_parser(
        "explain",
        help="write the pictures of 'show why' for an image as PNG files",
        description="Write, for one drawing, the pictures of 'show why' as PNG files (for "
        "slides): the drawing, the 28x28 input, what each convolution stage saw, and which "
        "strokes made the model choose its digit and its runner-up. With --build-graph, "
        "make the model's companion explain graph instead (needs requirements-dev.txt).",
    )
    explain.add_argument("image", nargs="?", type=Path, help="a PNG, JPEG, WebP or GIF")
    explain.add_argument("--out-dir", type=Path, default=Path("explain"))
    explain.add_argument("--model", type=Path, default=MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx")
    explain.add_argument(
        "--build-graph",
        action="store_true",
        help="make MODEL's companion graph (models/NAME.explain.onnx) and exit",
    )

    samples = commands.add_parser(
        "samples", help="make the sample drawings to try (samples/*.png and samples/index.json)"
    )
    samples.add_argument("--out-dir", type=Path, default=Path("samples"))

    args = parser.parse_args(argv)
    if args.command == "train":
        from .train import command_line

        return run_train(args, command_line([prog, *argv]))
    elif args.command == "evaluate":
        from .evaluate import evaluate

        evaluate(args.model, args.report_dir, non_digits=args.non_digits)
    elif args.command == "explain":
        from .explain import build_graph, slides

        if args.build_graph:
            print(f"wrote {build_graph(args.model)}")
            return 0
        if args.image is None:
            parser.error("explain: give an IMAGE, or --build-graph")
        return slides(args.image, args.out_dir, args.model)
    elif args.command == "samples":
        from .samples import make_samples

        make_samples(args.out_dir)
    elif args.command == "serve":
        from .server import serve

        return serve(args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
