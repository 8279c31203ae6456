"""The retrain job: one series (``job``: lock, reconcile, backtest, decide, refit,
register, serve), and many series at once (``many``: fits in worker batches, ``batch``;
each series registered on change and served in its own transaction, ``serve``)."""
