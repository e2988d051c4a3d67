"""SkillPath's Feast feature repository (declarative; see docs/features.md).

``tables`` lists the feature tables as plain data; ``definitions`` turns them into
Feast objects; ``feature_store.yaml`` is the documented default configuration.
"""
