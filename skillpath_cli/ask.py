"""``skillpath ask USER_ID "MESSAGE"``: the virtual mentor in-process, exactly as ``POST /assistant`` answers.

Conversations live in the data dir (``assistant.db``), so ``--conversation ID`` continues
one started here or over HTTP. The CLI runs with the data dir's owner's rights, so a
confirmed goal is saved (the HTTP route saves only for a key with write access).
"""

from __future__ import annotations

import click

from skillpath_cli.common import UsageFailure, settings

__all__ = ["ask"]


@click.command("ask")
@click.argument("user_id")
@click.argument("message")
@click.option("--conversation", "conversation_id", default=None, metavar="ID",
              help="Continue this conversation (the id a previous answer printed).")
@click.option("--model", "--model-dir", "model_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR",
              help="Use this saved model instead of the MLflow registry's @champion [default: $SKILLPATH_MODEL_DIR].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the answer, then the conversation id on stderr; json: the POST /assistant body.")
@click.pass_context
def ask(ctx: click.Context, user_id: str, message: str, conversation_id: str | None, model_dir: str | None,
        fmt: str) -> None:
    """Ask the virtual mentor a question as USER_ID: what next, a path, why, a search, progress, a mentor,
    a goal, freshness. Example: skillpath ask u00042 "is there a short video on embeddings?" """
    from pydantic import ValidationError

    from serving.app import SkillPathApp
    from serving.schemas_assistant import AssistantRequest

    try:
        request = AssistantRequest(user_id=user_id, message=message, conversation_id=conversation_id)
    except ValidationError as e:
        err = e.errors()[0]
        field = {"conversation_id": "--conversation"}.get(str(err["loc"][0]), str(err["loc"][0]))
        raise UsageFailure(f"{field}: {err['msg']}") from None
    s = settings(ctx)
    app = SkillPathApp.from_settings(s, model_dir=model_dir or s.model_dir)
    try:
        resp = app.assistant.ask(request, can_write=True)
    finally:
        app.close()
    if fmt == "json":
        click.echo(resp.model_dump_json())
        return
    click.echo(resp.text)
    click.echo(f"conversation {resp.conversation_id} (continue with --conversation {resp.conversation_id})",
               err=True)
