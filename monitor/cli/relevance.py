"""`monitor relevance eval|train`: measure and train the relevance classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state

relevance_app = typer.Typer(help="Measure and train topic relevance (rules + learned classifier).",
                            no_args_is_help=True)
app.add_typer(relevance_app, name="relevance")


@relevance_app.command("eval")
def eval_command(
    ctx: typer.Context,
    labels: Path = typer.Option(..., "--labels", help="JSONL of {id, title, text, language, relevant}."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Print precision, recall and F1 per language for the topic rules, the classifier and both."""
    from monitor.analyze.jobs import relevance as service   # sklearn: imported only when run
    report = service.evaluate_file(state(ctx).settings, labels, state(ctx).engine)
    if as_json:
        print_json(report)
        return
    typer.echo(f"{report['examples']} labelled articles; threshold {report['threshold']}; "
               f"classifier: {report['classifier_mode']}")
    for method in ("rules", "classifier", "combined"):
        if method not in report:
            continue
        typer.echo(f"{method}:")
        for lang, m in report[method].items():
            typer.echo(f"  {lang:4} n={m['n']:<4} precision={m['precision']:.3f} "
                       f"recall={m['recall']:.3f} f1={m['f1']:.3f}  (fp={m['fp']} fn={m['fn']})")


@relevance_app.command("train")
def train_command(
    ctx: typer.Context,
    labels: Optional[Path] = typer.Option(
        None, "--labels", help="JSONL of labelled articles; default: labels made in the dashboard."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train the relevance classifier and store it; the next `analyze` re-judges every article."""
    from monitor.analyze.jobs import relevance as service
    result = service.train_and_store(state(ctx).engine, labels)
    if as_json:
        print_json(result)
        return
    typer.echo(f"trained on {result['examples']} articles ({result['relevant']} relevant); "
               f"cross-validated F1 {result['cv']['all']['f1']:.3f}")
