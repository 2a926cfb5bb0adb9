"""The back office: platform admins act on users, shops, shows and reported content, and
every action leaves an audit row written in the action's own transaction. Buyers' reports
of chat messages and products arrive here too. Nothing imports this package but the
composition root (liveshop/app.py) and the demo."""
