-- The MLflow tracking server's backend store, next to Cadence's own database
-- (POSTGRES_DB=cadence). Run once by the postgres image on an empty data volume.
CREATE DATABASE mlflow;
