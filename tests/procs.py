"""Child processes started as from a terminal, wherever the suite itself was started.

A command started in the background by a non-interactive shell (CI runners, `nohup ... &`, job schedulers) inherits
SIGINT *ignored*, and so would every child it starts; Python then never raises `KeyboardInterrupt`. A test that sends
a signal sets the disposition it relies on in the child it starts: `python(...)` runs Python with SIGINT and SIGTERM
at their defaults (as from a terminal), or with SIGINT ignored (`sigint="ignore"`, as a background job of a script).
"""
import sys

_START = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.{}); signal.signal(signal.SIGTERM, signal.SIG_DFL); "
          "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


def python(*args, sigint:str="default")->list:
    "argv running `python ARGS` with SIGINT at its default ('default') or ignored ('ignore'), whatever this process inherited."
    return [sys.executable, "-c", _START.format("SIG_IGN" if sigint == "ignore" else "SIG_DFL"), *map(str, args)]
