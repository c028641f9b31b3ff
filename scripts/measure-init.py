"""Cold-start init time of a Lambda bootstrap: from process start until its first poll of the
Runtime API (GET /2018-06-01/runtime/invocation/next), against a local Runtime API stub.

    .venv/bin/python scripts/measure-init.py target/lambda/validator/bootstrap.zip [RUNS]

The zip is unpacked into a temporary task root, as Lambda does; the environment is what the
validator gets in AWS (fake credentials: init makes no AWS call). Prints per-run milliseconds and
`init_ms_median=` / `init_ms_p90=`.
"""

import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

from localstack.settings import Pipeline

NEXT_INVOCATION = "/2018-06-01/runtime/invocation/next"
PIPELINE = Pipeline.load()


def measure_once(bootstrap: str, task_root: str) -> float:
    first_poll = threading.Event()
    polled_at: list[float] = []

    class RuntimeApi(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path == NEXT_INVOCATION and not polled_at:
                polled_at.append(time.perf_counter())
                first_poll.set()
            # Never hand out an invocation: the process is killed once it has polled.
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_LAMBDA_FUNCTION_NAME": PIPELINE.names["validator_function"],
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
        "AWS_SESSION_TOKEN": "example",
        PIPELINE.lambda_env_names["stream_name"]: PIPELINE.names["stream"],
        PIPELINE.lambda_env_names["error_bucket"]: PIPELINE.names["error_bucket"],
    }
    started = time.perf_counter()
    process = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not first_poll.wait(timeout=10):
            raise SystemExit(f"bootstrap never polled the Runtime API: {process.stderr.read1().decode()}")
        return (polled_at[0] - started) * 1000
    finally:
        process.kill()
        process.wait()
        server.shutdown()


def main() -> None:
    zip_path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as task_root:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(task_root)
        bootstrap = os.path.join(task_root, "bootstrap")
        os.chmod(bootstrap, 0o755)
        measure_once(bootstrap, task_root)  # page the binary in, as a warm host would have it
        timings = [measure_once(bootstrap, task_root) for _ in range(runs)]
    print(" ".join(f"{t:.1f}" for t in timings))
    print(f"init_ms_median={statistics.median(timings):.1f}")
    print(f"init_ms_p90={statistics.quantiles(timings, n=10)[-1]:.1f}")


if __name__ == "__main__":
    main()
