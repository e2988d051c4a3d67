"""The entity store: skills, resources, mentees and mentors as versioned documents (docs/store.md)."""
