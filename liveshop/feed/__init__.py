"""Discovery: interaction events, recommendations and the feed."""
