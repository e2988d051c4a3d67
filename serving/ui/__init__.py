"""The SkillPath console (``/ui``): server-rendered pages over the analytics tables, signed-in by key."""
