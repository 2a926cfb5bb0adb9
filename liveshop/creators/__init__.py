"""Creators and affiliate commerce: plans, attribution, commission, clawbacks."""
