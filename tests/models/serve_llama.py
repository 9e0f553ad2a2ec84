"""Start llama-cpp-python's OpenAI-compatible server, with its extra buffer types off.

Run by the models venv's Python (`make test-models`), never imported by the tests. llama.cpp
built with `GGML_NATIVE` uses AMX tile instructions where the CPU advertises them; inside
some virtual machines (Firecracker here) the CPU advertises AMX but the tile instructions
raise SIGILL, killing the server on its first generated token. AMX kernels are reached only
through the "extra" (repacked) weight buffers, so turning those off (llama.cpp's
`--no-repack`, `use_extra_bufts = false`) keeps every other optimisation and avoids them.
Arguments are `python -m llama_cpp.server`'s.
"""

import runpy
import sys

import llama_cpp.llama_cpp as low  # the ctypes layer `llama_cpp.Llama` takes its defaults from

_default_params = low.llama_model_default_params


def _params():  # type: ignore[no-untyped-def]
    params = _default_params()
    params.use_extra_bufts = False
    return params


low.llama_model_default_params = _params
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
