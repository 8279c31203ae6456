"""Live accuracy of served forecasts: each stored forecast scored against the truth known
now (``scores``), rolling scores and the drift alarm (``rolling``), and the rolling
numbers logged to the champion's MLflow run (``tracking``)."""
