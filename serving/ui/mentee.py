"""The mentee page's body: next up with reasons, the path as a prerequisite graph with mastery, goals with
projected dates, the mentor, recent activity and the assistant chat panel."""

from __future__ import annotations

from typing import Any

from recommender.mastery import MasteryModel
from serving.ui.html import esc, graph_svg, section, table_html

__all__ = ["mentee_body"]

_MASTERY = MasteryModel()


def _graph(core: Any, user_id: str, plan: Any) -> str:
    """Goal skills, the skills of the planned steps and their prerequisites, layered by depth."""
    cat = core.world.catalog
    g = cat.graph
    wanted = {x.skill for x in plan.goals} | {s.skill for s in plan.steps}
    for s in list(wanted):
        wanted |= {a for a in g.ancestors(s) if a in wanted or any(p.skill_id == a for p in g.prereqs[s])}
    ctx = core.contexts.get(user_id, now=core.clock())
    state = ctx.mastery(_MASTERY)
    layer: dict[str, int] = {}
    for s in g.order:  # graph order: prerequisites first
        if s in wanted:
            layer[s] = 1 + max((layer[p.skill_id] for p in g.prereqs[s] if p.skill_id in layer), default=-1)
    nodes = [(s, g.skills[s].name, float(state.mastery(s)), layer[s]) for s in layer]
    edges = [(p.skill_id, s) for s in layer for p in g.prereqs[s] if p.skill_id in layer]
    return graph_svg(nodes, edges, title="learning path as a prerequisite graph")


def mentee_body(core: Any, data: Any, user_id: str, nxt: Any, plan: Any) -> str:
    items = "".join(f"<li><b>{esc(i.title)}</b> <span class=\"muted\">({esc(i.type)}, {esc(i.item_id)})</span>"
                    f"<br><span class=\"muted\">{esc('; '.join(i.reasons))}</span></li>" for i in nxt.items)
    last_eta: dict[str, str] = {}
    for s in plan.steps:
        last_eta[s.goal] = s.eta
    goals = "".join(f"<tr><td>{esc(g.skill_name)}</td><td>{g.level}</td><td>{esc(g.deadline or '-')}</td>"
                    f"<td>{'met' if g.met else esc(last_eta.get(g.skill, 'beyond the plan'))}</td></tr>"
                    for g in plan.goals)
    mentor_id = core.mentor_of(user_id)
    mentor = core.world.mentors.get(mentor_id) if mentor_id else None
    mentor_html = (f"<p><b>{esc(mentor.name)}</b> ({esc(mentor.mentor_id)})</p>" if mentor is not None
                   else '<p class="muted">No mentor assigned yet.</p>')
    ep = f"/analytics/mentees/{user_id}/"
    chat = (f'<div class="chat"><div id="chat-log" class="chat-log" aria-live="polite"></div>'
            f'<form id="chat-form" action="/ui/mentees/{esc(user_id)}/ask"><input id="chat-input" type="text" '
            f'placeholder="What should I do next?" aria-label="message" maxlength="2000">'
            f'<button type="submit">Ask</button></form></div>')
    return '<div class="grid">' + "".join([
        section("Next up", f"<ol>{items}</ol>" if items else '<p class="muted">Nothing to suggest yet.</p>'),
        section("Goals and projected dates", f'<div class="table-wrap"><table><thead><tr><th>goal</th><th>level</th>'
                                             f"<th>deadline</th><th>projected</th></tr></thead><tbody>{goals}</tbody>"
                                             f"</table></div><p class=\"notes\">Projected at "
                                             f"{plan.minutes_per_week} minutes a week.</p>"),
        section("Path: prerequisite graph with mastery", _graph(core, user_id, plan), wide=True),
        section("Mentor", mentor_html),
        section("Ask the virtual mentor", chat),
        section("Recent activity", table_html(data.mentee(user_id, "activity"), ep + "activity", limit=20), wide=True),
        section("Alerts", table_html(data.mentee(user_id, "alerts"), ep + "alerts"), wide=True),
    ]) + "</div>"
