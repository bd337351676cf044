"""python -m mnistdraw {train,evaluate,serve}: train the model, score it, or serve the page."""

import argparse
import sys
from pathlib import Path

from . import DEFAULT_MODEL_NAME, MODELS_DIR


def main(argv=None, prog="python -m mnistdraw", command=None):
    argv = sys.argv[1:] if argv is None else argv
    from .train import RECIPE

    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train the CNN, export ONNX and its model card")
    train.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    train.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    train.add_argument("--seed", type=int, default=RECIPE["seed"])
    train.add_argument(
        "--members",
        type=int,
        default=RECIPE["members"],
        help="train this many CNNs and export their average as one model",
    )
    train.add_argument("--lr", type=float, default=RECIPE["learning_rate"])
    train.add_argument("--subset", type=int, help="train on the first N digits only")
    train.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    train.add_argument("--name", default=DEFAULT_MODEL_NAME)

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

    args = parser.parse_args(argv)
    if args.command == "train":
        from .train import command_line, train

        train(
            args.out_dir,
            args.name,
            subset=args.subset,
            command=command or command_line([prog, *argv]),
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            members=args.members,
            learning_rate=args.lr,
        )
    elif args.command == "evaluate":
        from .evaluate import evaluate

        evaluate(args.model, args.report_dir, non_digits=args.non_digits)
    elif args.command == "serve":
        from .server import serve

        return serve(args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
