# One image for every service in docker-compose.yaml: the Airflow components and the local
# SageMaker emulator. The tag pins Airflow to requirements.txt's apache-airflow==3.3.2 and
# Python to 3.11, the version the project's virtualenv and tests use.
FROM apache/airflow:3.3.2-python3.11

# The official image installs Python packages as the airflow user (into ~/.local);
# pip must not run as root. Naming apache-airflow next to -r makes pip fail instead of
# silently replacing Airflow if requirements.txt ever pins another version.
USER airflow
COPY --chown=airflow:root requirements.txt /opt/bankml/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/bankml/requirements.txt

# The emulator is baked in (it is not mounted like dags/ and plugins/): the compose service
# runs `python -m sagemaker_emulator` with /opt/bankml as its working directory.
COPY --chown=airflow:root sagemaker_emulator /opt/bankml/sagemaker_emulator
