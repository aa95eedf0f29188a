"""WebAssembly/wasi-testsuite runtime adapter for wprof's JS WASI polyfill.

Give this file to the suite's runner as ``--runtime-adapter``; every test then
runs in Node through ``../wasi-testsuite-adapter.js``::

    python3 test-runner/wasi_test_runner.py \\
        -t tests/assemblyscript/testsuite/ tests/c/testsuite/ tests/rust/testsuite/ \\
        -r <wprof>/polyfill-js/test/wasi-testsuite/adapter.py

``NODE`` overrides the Node command (split like a shell would, as the suite's
own adapters do with ``WASMTIME``).

The runner has called ``compute_argv`` in several shapes over time: args, env
and dirs as separate parameters, or packed in one tuple followed by the
proposals, the WASI world and version; the third member of the tuple is a
list of ``(host, guest)`` directories or, in newer suites, one root directory
mounted at ``/``. All of them are accepted. Running this file as a script does
nothing: the runner takes any output to ``--version`` as the sign of an
old-style adapter.
"""

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

NODE = shlex.split(os.getenv("NODE", "node"))
JS_ADAPTER = Path(__file__).resolve().parent.parent / "wasi-testsuite-adapter.js"


def get_name() -> str:
    return "wprof-polyfill-js"


def get_version() -> str:
    # Also proves that Node starts: a missing binary raises FileNotFoundError,
    # which the runner reports as an unavailable runtime.
    result = subprocess.run(NODE + [str(JS_ADAPTER), "--version"],
                            encoding="UTF-8", capture_output=True, check=True)
    return result.stdout.split()[-1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


def get_timeout_seconds() -> float:
    # Node's start-up and compiling each module cost more than a native
    # runtime on a loaded machine.
    return 30.0


def _mounts(dirs_or_root: Any) -> List[Tuple[str, str]]:
    if dirs_or_root is None:
        return []
    if isinstance(dirs_or_root, (str, Path)):
        return [(str(dirs_or_root), "/")]
    return [(str(host), str(guest)) for host, guest in dirs_or_root]


def _unpack(params: Tuple[Any, ...]) -> Tuple[List[str], Dict[str, str], List[Tuple[str, str]]]:
    first = params[0] if params else ([], {}, [])
    if hasattr(first, "args_env_dirs"):
        args, env, dirs = first.args_env_dirs()
    elif isinstance(first, (tuple, list)) and len(first) == 3 and isinstance(first[1], dict):
        # Packed: (args, env, dirs) as a tuple, or as the list the current
        # runner passes; a bare args list never has a dict second.
        args, env, dirs = first
    else:
        args, env, dirs = params[0], params[1], params[2]
    return list(args), dict(env), _mounts(dirs)


def compute_argv(test_path: str, *params: Any) -> List[str]:
    args, env, mounts = _unpack(params)
    argv = NODE + [str(JS_ADAPTER), "--test-file", test_path]
    for host, guest in mounts:
        argv += ["--dir", f"{host}::{guest}"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    for arg in args:
        argv += ["--arg", arg]
    return argv
