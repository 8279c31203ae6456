"""jobs layer: the production jobs that change what is served (locks, database writes,
registry alias moves), on top of the experiments."""
