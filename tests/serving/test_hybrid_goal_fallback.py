"""``POST /recommend`` (hybrid) never answers an unexplained empty list for goal skills (issue #17, demo finding).

In the test world block 3 needs block 2 at level 2 (tests/serving/world.py). A mentee without block 2
asking for block 3 gets no ready block-3 item; the answer is then the next steps towards it (block-2
items, each reason naming block3), marked ``goal_fallback: "prerequisites"``; a skill with no content
and no path gets ``[]`` with ``goal_fallback: "nothing"`` and a note.
"""

from __future__ import annotations

from serving.views.hybrid import _PREPARED  # noqa: F401  (the view under test)

def _rec(client, **body):
    r = client.post("/recommend", json=body)
    assert r.status_code == 200, r.text
    return r.json()

def _levels(item):
    return {s.split(":")[0]: int(s.split(":")[1]) for s in item["skills"]}

def test_unready_goal_answers_the_prerequisite_steps(client, service_env):
    user = next(u for u, b in sorted(service_env.user_block.items()) if b == 0)
    out = _rec(client, user_id=user, k=3, goal_skills=["block3"])
    assert out["mode"] == "hybrid" and out["goal_fallback"] == "prerequisites", out
    assert 1 <= len(out["items"]) <= 3
    assert "block3" in out["note"]
    for it in out["items"]:
        # the items teach the missing prerequisite (block 2), never block 3 itself (not ready)
        assert set(_levels(it)) == {"block2"}, it
        assert it["reasons"][0] == "prerequisite of block3", it["reasons"]
        assert "towards" in it["reasons"][1]
    # the same mentee with a ready goal is answered as before, unmarked
    plain = _rec(client, user_id=user, k=3, goal_skills=["block2"])
    assert plain["goal_fallback"] is None and plain["note"] is None and plain["items"]
    # model and path modes are unchanged by this
    model = _rec(client, user_id=user, k=3, goal_skills=["block3"], mode="model")
    assert model["goal_fallback"] is None and all("block3" in "".join(i["skills"]) for i in model["items"])

def test_prerequisites_are_never_violated_in_the_fallback(client, service_env):
    """Every fallback item is one the mentee can take now: block-2 items need nothing, and block 3 (which
    needs block 2 at level 2) is never offered to a mentee who was not shown to hold it."""
    seen = set()
    for user in sorted(service_env.user_block)[:12]:
        for filters in ({}, {"types": ["video", "article", "book", "course", "tutorial"]}, {"max_minutes": 600}):
            out = _rec(client, user_id=user, k=5, goal_skills=["block3"], **filters)
            seen.add(out["goal_fallback"])
            if out["goal_fallback"] == "prerequisites":
                assert all("block3" not in _levels(i) for i in out["items"]), (user, out)
                assert all(i["reasons"][0] == "prerequisite of block3" for i in out["items"])
            elif out["goal_fallback"] is None:  # ready for block 3: its items, as today
                assert all("block3" in _levels(i) for i in out["items"]) and out["items"]
            else:
                assert out["items"] == [] and out["note"]
    assert "prerequisites" in seen, seen

def test_a_skill_without_content_is_an_explained_empty_list(client, service_env):
    r = client.put("/skills/lonely", json={"name": "Lonely skill"})
    assert r.status_code in (200, 201), r.text
    out = _rec(client, user_id=sorted(service_env.user_block)[0], k=3, goal_skills=["lonely"])
    assert out["items"] == [] and out["goal_fallback"] == "nothing"
    assert out["note"] == "no active resource teaches lonely"

def test_filters_that_leave_nothing_say_so(client, service_env):
    user = next(u for u, b in sorted(service_env.user_block.items()) if b == 0)
    out = _rec(client, user_id=user, k=3, goal_skills=["block3"], max_minutes=1)
    assert out["items"] == [] and out["goal_fallback"] == "nothing"
    # the planner's own blocker, in words: no block-2 (or block-3) resource fits one minute
    assert out["note"].startswith("nothing teaching block3 is ready for you and no step towards it fits this "
                                  "request: "), out["note"]
    assert "no available" in out["note"] or "first" in out["note"], out["note"]
