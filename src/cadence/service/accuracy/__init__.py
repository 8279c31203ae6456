"""Live accuracy in the service: the drift band from settings and rescoring after new
truth arrives (``rescoring``), and the accuracy body of the API and the CLI (``report``)."""
