"""``skillpath recommend USER_ID``: the service's answer, computed in-process (no server)."""

from __future__ import annotations

from datetime import datetime

import click

from skillpath_cli.common import DateType, UsageFailure, emit_table, format_option, settings

__all__ = ["recommend"]


@click.command("recommend")
@click.argument("user_id")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100), help="How many resources.")
@click.option("--goal", "goals", multiple=True, help="Only resources teaching this skill (repeatable).")
@click.option("--model", "--model-dir", "model_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR",
              help="Use this saved model instead of the MLflow registry's @champion [default: $SKILLPATH_MODEL_DIR].")
@click.option("--as-of", type=DateType(), default=None,
              help="Recommend as of this date (ISO-8601; default: now, UTC): freshness and publication dates.")
@format_option()
@click.pass_context
def recommend(ctx: click.Context, user_id: str, k: int, goals: tuple[str, ...], model_dir: str | None,
              as_of: datetime | None, fmt: str) -> None:
    """Recommend resources to USER_ID exactly as POST /recommend would, with reasons."""
    from pydantic import ValidationError

    from recommender.topk.panels import use_reference_path
    from serving.app import SkillPathApp
    from serving.schemas import RecommendRequest

    try:
        request = RecommendRequest(user_id=user_id, k=k, goal_skills=list(goals) or None)
    except ValidationError as e:
        err = e.errors()[0]
        raise UsageFailure(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    s = settings(ctx)
    kw = {"clock": (lambda: as_of)} if as_of else {}
    use_reference_path()  # one ranking: numpy's top-k beats loading numba's compiled scans
    app = SkillPathApp.from_settings(s, model_dir=model_dir or s.model_dir, mentees=[user_id], **kw)
    try:
        resp = app.recommend(request)
    finally:
        app.close()
    click.echo(f"model {resp.model_version}; " + (f"cold start ({resp.fallback})" if resp.fallback else "personalised"),
               err=True)
    if resp.note:  # the goal skills had no ready item: say what the list is instead (goal_fallback)
        click.echo(resp.note, err=True)
    emit_table([{"item_id": i.item_id, "title": i.title, "type": i.type, "score": round(i.score, 4),
                 "freshness": round(i.freshness, 3), "reasons": "; ".join(i.reasons)} for i in resp.items], fmt)
