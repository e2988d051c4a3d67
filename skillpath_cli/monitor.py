"""``skillpath monitor status|alerts|ack``: the mentee monitor in-process, as the service answers it.

The statuses are folded from the data dir's event log at start (as the service does), the
alerts evaluated now; acknowledgements go to the same alert store the service reads.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from skillpath_cli.common import DateType, UsageFailure, settings

__all__ = ["monitor"]


def _open(ctx: click.Context):
    from catalog.datadir import DataDir
    from catalog.errors import NotReadyError
    from catalog.eventlog import EventLog
    from catalog.loaders import load_world
    from serving.views.mentors import MentorsView
    from serving.views.monitoring import open_monitor
    from serving.views.sessions import open_sessions

    s = settings(ctx)
    dd = DataDir(s.data_dir)
    if not dd.has_world():
        raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import`")
    world = load_world(dd)
    log = EventLog(dd.events_db)
    mentors = MentorsView(world, dd.reports, has_events=lambda u: log.last_seq(u) > 0)
    now = datetime.now(timezone.utc)
    store = open_sessions(s, world=world, log_=log, clock=lambda: now).store   # recorded sessions: mentor contact
    monitor = open_monitor(s.model_copy(update={"monitoring": s.monitoring.model_copy(update={"enabled": True})}),
                           world, log, mentors, now, sessions=lambda: store)
    return world, log, mentors, monitor, now


@click.group("monitor")
def monitor() -> None:
    """Who is stalling or at risk, why, and what to do: statuses, alerts, acknowledgements (docs/monitoring.md)."""


@monitor.command("status")
@click.argument("user_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def status(ctx: click.Context, user_id: str, fmt: str) -> None:
    """The status of USER_ID now: engagement, assessments, goals, mentor, risk and alerts."""
    from catalog.errors import UnknownUserError

    world, log, _, mon, now = _open(ctx)
    try:
        if user_id not in world.mentees and log.last_seq(user_id) == 0:
            raise UnknownUserError(user_id, "no profile and no events")
        st = mon.status(user_id, now)
    finally:
        mon.close()
        log.close()
    if fmt == "json":
        click.echo(json.dumps(st, indent=2))
        return
    e = st["engagement"]
    click.echo(f"{user_id} at {st['at']}: last active {e['last_activity'] or 'never'} "
               f"({e['days_since_activity'] if e['days_since_activity'] is not None else '-'} days ago), "
               f"{e['active_days_per_week']} active days/week (before: {e['active_days_per_week_prev']})")
    a = st["assessments"]
    click.echo(f"assessments: {a['count']} ({a['failed']} failed); dismissals in a row: {st['dismiss_run']}")
    for g in st["goals"]:
        late = "" if g["weeks_late"] is None else f", {g['weeks_late']} weeks late"
        click.echo(f"goal {g['skill_id']}:{g['level']}: mastery {g['mastery']} of {g['target']}"
                   f"{' (reached)' if g['reached'] else ''}{late}")
    if st["risk"] is not None:
        click.echo(f"risk: {st['risk']:.0%}")
    for al in st["alerts"]:
        click.echo(f"[{al['severity']}] {al['alert_id']} {al['kind']}: {al['reason']} -> "
                   f"{al['intervention']['kind']} ({al['state']})")


@monitor.command("alerts")
@click.option("--cohort", default=None, help="mentor:<id> or YYYY-MM (first activity month).")
@click.option("--min-risk", type=click.FloatRange(0, 1), default=None, help="Only mentees at or above this risk.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option("--all", "include_acknowledged", is_flag=True, help="Also acknowledged and snoozed alerts.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def alerts(ctx: click.Context, cohort: str | None, min_risk: float | None, limit: int, include_acknowledged: bool,
           fmt: str) -> None:
    """Open alerts, by mentee, with the reason and the suggested next action."""
    from catalog.errors import InvalidValueError
    from serving.views.monitoring import parse_cohort

    world, log, _, mon, now = _open(ctx)
    try:
        page = mon.alerts(now=now, cohort=parse_cohort(cohort, world), min_risk=min_risk, limit=limit,
                          include_acknowledged=include_acknowledged)
    except InvalidValueError as e:
        raise UsageFailure(f"--{e.field.replace('_', '-')}: {e.reason}") from None
    finally:
        mon.close()
        log.close()
    if fmt == "json":
        click.echo(json.dumps(page, indent=2))
        return
    for al in page["alerts"]:
        risk = "" if al["risk"] is None else f" risk {al['risk']:.0%}"
        click.echo(f"{al['user_id']}\t[{al['severity']}] {al['kind']}: {al['reason']} -> "
                   f"{al['intervention']['kind']}{risk}\t{al['alert_id']}")
    more = " (more: raise --limit)" if page["next_cursor"] else ""
    click.echo(f"{len(page['alerts'])} alert(s){more}", err=True)


@monitor.command("ack")
@click.argument("alert_id")
@click.option("--snooze-until", type=DateType(), default=None, help="Snooze until this date instead of acknowledging.")
@click.option("--note", default="", help="Kept with the acknowledgement.")
@click.pass_context
def ack(ctx: click.Context, alert_id: str, snooze_until: datetime | None, note: str) -> None:
    """Acknowledge ALERT_ID (it leaves the open list), or snooze it until a date."""
    from catalog.errors import InvalidValueError

    _, log, _, mon, now = _open(ctx)
    try:
        out = mon.ack(alert_id, action="ack" if snooze_until is None else "snooze", until=snooze_until, note=note,
                      by="cli", now=now)
    except InvalidValueError as e:
        raise UsageFailure(f"--snooze-until: {e.reason}") from None
    finally:
        mon.close()
        log.close()
    until = f" until {out['snoozed_until']}" if out["snoozed_until"] else ""
    click.echo(f"{alert_id} ({out['user_id']}): {out['state']}{until}")


@monitor.command("train")
@click.option("--horizon-days", type=click.IntRange(1, 365), default=30, show_default=True,
              help="Label: drops out within this many days after the cut (or ends stalled).")
@click.option("--min-auc", type=click.FloatRange(0, 1), default=0.55, show_default=True,
              help="Gate: save the model for the service only if its validation AUC reaches this.")
@click.option("--no-track", is_flag=True, help="Do not log the run to MLflow.")
@click.pass_context
def train(ctx: click.Context, horizon_days: int, min_auc: float, no_track: bool) -> None:
    """Train the at-risk model on the data dir's labelled outcomes (truth/outcomes.parquet of `skillpath data
    synth`), validate on the later cuts, and save it where the service reads it if it passes the gate."""
    import pandas as pd

    from catalog.datadir import DataDir
    from catalog.errors import NotReadyError
    from catalog.eventlog import EventLog
    from catalog.loaders import load_world
    from catalog.synth.store import outcomes_path
    from serving.views.sessions import open_sessions
    from serving.views.monitoring import AT_RISK_DIR
    from training.monitoring import train_at_risk, training_rows

    s = settings(ctx)
    dd = DataDir(s.data_dir)
    if not outcomes_path(dd).exists():
        raise NotReadyError(f"no labelled outcomes in {outcomes_path(dd)}; `skillpath data synth` writes them")
    world = load_world(dd)
    with EventLog(dd.events_db) as log:
        events = log.read()
        # Recorded sessions are mentor contact (each row reads only those started by its cut).
        sessions = open_sessions(s, world=world, log_=log, clock=lambda: datetime.now(timezone.utc))
        contacts = sessions.store.contacts()
        sessions.store.close()
    rows = training_rows(events, world, pd.read_parquet(outcomes_path(dd)), horizon_days=horizon_days,
                         sessions=contacts)
    tracking = None
    if not no_track:
        from training.tracking import connect

        tracking = connect(s, dd.root)
    res = train_at_risk(rows, dd.models / AT_RISK_DIR, horizon_days=horizon_days, min_auc=min_auc,
                        tracking=tracking)
    m = res.metrics
    click.echo(f"validation ({int(m['rows']):,} rows, base rate {m['base_rate']:.3f}): AUC {m['auc']:.3f}, "
               f"average precision {m['average_precision']:.3f}, precision in the top 10% {m['precision_top10']:.3f}, "
               f"Brier {m['brier']:.3f}")
    if res.passed:
        click.echo(f"gate passed (AUC >= {min_auc}): saved {res.model_path}" + (f" (run {res.run_id})" if res.run_id else ""))
    else:
        click.echo(f"gate failed (AUC < {min_auc}): the model in place is kept", err=True)
        ctx.exit(1)
