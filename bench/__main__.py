"""`make bench`: the emulator's serving figures, its multi-instance training figures, then the pipeline's
end-to-end figures."""

from __future__ import annotations

import subprocess
import sys

from tools.airflow_home import ROOT

if __name__ == "__main__":
    print(
        f"bankml benchmarks ({subprocess.run(['date', '-u', '+%F'], capture_output=True, text=True).stdout.strip()}, "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores)\n",
        flush=True,
    )
    status = subprocess.run([sys.executable, str(ROOT / "bench" / "emulator_bench.py")], cwd=ROOT).returncode
    print(flush=True)
    status |= subprocess.run([sys.executable, "-m", "bench.multi_instance_bench"], cwd=ROOT).returncode
    print(flush=True)
    status |= subprocess.run([sys.executable, "-m", "bench.pipeline_bench"], cwd=ROOT).returncode
    sys.exit(status)
