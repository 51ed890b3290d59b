"""extract in Airflow: a KubernetesPodOperator (preferred) and a BashOperator alternative.

Exit codes of `extract run` (see the README) and what the tasks do with them:

    0  ok                             success
    2  configuration error            fail at once, no retry (fix the settings)
    3  authentication error           fail at once, no retry (renew the credentials)
    5  data error                     fail at once, no retry (a value NetSuite sent does not parse)
    4  transient / out of time / lock retry (the next try resumes from the last checkpoint)
    6  interrupted                    retry
    1  internal error                 retry (then report it)

Airflow retries every failure by default; FailFastOnExitCodes turns 2, 3 and 5 into
AirflowFailException, which Airflow does not retry. skip_on_exit_code would mark them
skipped, which hides them: not what we want.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.operators.bash import BashOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

FAIL_FAST = {2, 3, 5}  # config, auth, data: retrying cannot help

OUTPUT = "s3://my-bucket/netsuite"  # the state lives beside it on object storage


class FailFastOnExitCodes:
    """Mixin: a failure whose exit code is in FAIL_FAST is not retried."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowFailException:
            raise
        except AirflowException as err:
            code = self.exit_code(err)
            if code in FAIL_FAST:
                raise AirflowFailException(f"extract exited {code}; not retrying: {err}") from err
            raise

    def exit_code(self, err: AirflowException) -> int | None:
        # BashOperator says "... returned a non-zero exit code N."
        m = re.search(r"exit code (\d+)", str(err))
        return int(m.group(1)) if m else None


class ExtractPodOperator(FailFastOnExitCodes, KubernetesPodOperator):
    def exit_code(self, err):
        # The pod's container status has the exit code of the extract container.
        pod = getattr(self, "pod", None)
        if pod is not None:
            pod = self.pod_manager.read_pod(pod)
            for status in pod.status.container_statuses or []:
                if status.name == "base" and status.state.terminated is not None:
                    return status.state.terminated.exit_code
        return super().exit_code(err)


class ExtractBashOperator(FailFastOnExitCodes, BashOperator):
    pass


default_args = {
    "retries": 3,  # for exit codes 1, 4 and 6 only (see above)
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}

with DAG(
    dag_id="extract_netsuite",
    schedule="*/30 * * * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,  # the state lock would refuse a second run anyway (exit 4)
    default_args=default_args,
) as dag:
    # The summary JSON goes to the xcom sidecar; on failure it still holds exit_code and
    # error, so a downstream task (trigger_rule="all_done") can read what happened.
    extract = ExtractPodOperator(
        task_id="extract",
        name="extract-netsuite",
        image="ghcr.io/extract-dev/extract:latest",
        arguments=[
            "run",
            f"--output={OUTPUT}",
            "--summary-file=/airflow/xcom/return.json",
            "--max-duration=50m",
        ],
        env_vars=[
            k8s.V1EnvVar(name="NETSUITE_AUTH_METHOD", value="oauth2-m2m"),
            k8s.V1EnvVar(name="NETSUITE_PRIVATE_KEY_FILE", value="/run/secrets/netsuite/private_key.pem"),
        ],
        secrets=[],  # or airflow.providers.cncf.kubernetes.secret.Secret("env", "NETSUITE_CLIENT_ID", "extract-netsuite", "client_id")
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="extract-netsuite-env"))],
        volumes=[k8s.V1Volume(name="netsuite", secret=k8s.V1SecretVolumeSource(secret_name="extract-netsuite", default_mode=0o400))],
        volume_mounts=[k8s.V1VolumeMount(name="netsuite", mount_path="/run/secrets/netsuite", read_only=True)],
        service_account_name="extract",  # IRSA / Workload Identity for the bucket
        do_xcom_push=True,
        get_logs=True,
        execution_timeout=timedelta(hours=1),
    )

    # Use one of the two tasks, not both (they would share the state: the second waits
    # for nothing, it exits 4).
    # Without Kubernetes: the binary on the worker, NETSUITE_* in the worker's environment.
    # The summary goes to stdout; BashOperator pushes its last line, so it is written to a
    # file and printed compactly as the last line instead.
    extract_bash = ExtractBashOperator(
        task_id="extract_bash",
        bash_command=(
            "extract run --output " + OUTPUT + " --summary-file /tmp/extract-summary.json --max-duration 50m >&2"
            " && tr -d '\\n' < /tmp/extract-summary.json"
        ),
        do_xcom_push=True,
        execution_timeout=timedelta(hours=1),
    )
