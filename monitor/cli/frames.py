"""`monitor frames ...`: train, apply and evaluate the frame classifier; list shifts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state
from monitor.errors import InputError

frames_app = typer.Typer(help="Framing: train and evaluate the frame classifier, list frame shifts.",
                         no_args_is_help=True)
app.add_typer(frames_app, name="frames")

CODEBOOK_HELP = "Codebook the labels use (default: frames.codebook of feeds.yaml)."


def _codebook(ctx: typer.Context, name: Optional[str]):
    from monitor.analyze.codebook import codebook_named
    return codebook_named(name, state(ctx).settings.frames)


def _load_model(ctx: typer.Context, codebook):
    from monitor.analyze.frame_model import FrameClassifier
    from monitor.analyze.jobs.framing import model_name
    from monitor.store.framing import load_model
    with state(ctx).engine.connect() as conn:
        blob = load_model(conn, model_name(codebook))
    if blob is None:
        raise InputError(f"no trained model for codebook {codebook.name!r}; run `monitor frames train` first")
    return FrameClassifier.from_bytes(blob)


def _print_report(report: dict) -> None:
    typer.echo(f"{'frame':46s} {'prec':>6s} {'recall':>6s} {'f1':>6s} {'n':>5s}")
    for frame, m in report["per_frame"].items():
        typer.echo(f"{frame:46s} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:5d}")
    for lang, f1 in report.get("per_language", {}).items():
        typer.echo(f"micro-F1 [{lang}]: {f1:.3f}")
    typer.echo(f"micro-F1 {report['micro_f1']:.3f}   macro-F1 {report['macro_f1']:.3f}   "
               f"articles {report['n']}")


@frames_app.command("train")
def train(
    ctx: typer.Context,
    labels: Path = typer.Option(..., "--labels", help="Labelled JSONL: id, title, text, language, frames."),
    codebook: Optional[str] = typer.Option(None, "--codebook", help=CODEBOOK_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the cross-validated quality as JSON."),
) -> None:
    """Train the frame classifier, store it, and print its cross-validated quality."""
    from monitor.analyze.frame_model import train_for_codebook
    from monitor.analyze.jobs.framing import model_name
    from monitor.store.framing import save_model
    book = _codebook(ctx, codebook)
    model = train_for_codebook(labels, book)
    with state(ctx).engine.begin() as conn:
        save_model(conn, model_name(book), model.to_bytes(), model.cv)
    if as_json:
        print_json(model.cv)
        return
    typer.echo(f"trained {model_name(book)} (C={model.c}); {model.cv['folds']}-fold cross-validation:")
    _print_report(model.cv)


@frames_app.command("predict")
def predict(
    ctx: typer.Context,
    input: Path = typer.Option(..., "--input", help="JSONL of articles (id, title, text, language)."),
    output: Path = typer.Option(..., "--output", help="JSONL to write with predicted frames and scores."),
    codebook: Optional[str] = typer.Option(None, "--codebook", help=CODEBOOK_HELP),
) -> None:
    """Write INPUT's records to OUTPUT with predicted `frames` and per-frame `frame_scores`."""
    from monitor.analyze.frame_model import predict_records
    model = _load_model(ctx, _codebook(ctx, codebook))
    count = predict_records(model, input, output)
    typer.echo(f"wrote {count} records to {output}")


@frames_app.command("eval")
def evaluate_labels(
    ctx: typer.Context,
    labels: Path = typer.Option(..., "--labels", help="Labelled JSONL to score the stored model on."),
    codebook: Optional[str] = typer.Option(None, "--codebook", help=CODEBOOK_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Print per-frame precision, recall, F1 and micro/macro F1 of the stored model on LABELS."""
    from monitor.analyze.frame_model import evaluate_file
    report = evaluate_file(_load_model(ctx, _codebook(ctx, codebook)), labels)
    if as_json:
        print_json(report)
        return
    _print_report(report)


@frames_app.command("shifts")
def list_frame_shifts(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many shifts."),
    scope: Optional[str] = typer.Option(None, "--scope", help="Only this scope kind: all, group, language, outlet."),
    as_json: bool = typer.Option(False, "--json", help="Print the shifts as JSON."),
) -> None:
    """List detected frame shifts (from the last `monitor analyze`), largest effect first."""
    from monitor.store.framing import list_shifts
    with state(ctx).engine.connect() as conn:
        found = list_shifts(conn, limit=limit, scope_kind=scope)
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no shifts detected (run `monitor analyze` first)")
    for s in found:
        typer.echo(f"{s['period']:9s} {s['scope_kind']}:{s['scope']:20s} {s['frame']:18s} "
                   f"{s['baseline_share']:.0%} -> {s['share']:.0%} ({s['effect']:+.0%}, "
                   f"95% CI {s['ci_low']:+.0%}..{s['ci_high']:+.0%}, p={s['p_value']:.3g}, "
                   f"n={s['n']}, {s['method']})")
