"""Prompt management: templates (sandboxed rendering), builders, token counts and the versioned registry."""
