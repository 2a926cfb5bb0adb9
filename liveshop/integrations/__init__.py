"""Adapters to other systems (plug-ins: the domain packages never import them)."""
