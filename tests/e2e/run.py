#!/usr/bin/env python3
"""run.py - run the end-to-end tests against the running devstack.

  tests/e2e/run.py [PATTERN...]     only tests whose name contains a PATTERN

Every module test_*.py here is read in name order, and its test_* functions
run in the order they are written.  The last line is "N passed, M failed".
"""
import importlib
import inspect
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def collect(patterns):
    tests = []
    for name in sorted(f[:-3] for f in os.listdir(HERE)
                       if f.startswith("test_") and f.endswith(".py")):
        module = importlib.import_module(name)
        funcs = [f for n, f in vars(module).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == name]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in funcs:
            full = "%s.%s" % (name, f.__name__)
            if not patterns or any(p in full for p in patterns):
                tests.append((full, f))
    return tests


def main():
    from lib import Skip
    passed = failed = 0
    for full, f in collect(sys.argv[1:]):
        start = time.monotonic()
        try:
            f()
        except Skip as e:
            print("SKIP %s: %s" % (full, e), flush=True)
            continue
        except Exception as e:          # noqa: BLE001 - a test's failure of any kind
            failed += 1
            print("FAIL %s (%.1fs): %s: %s" % (full, time.monotonic() - start,
                                                type(e).__name__, e), flush=True)
            tb = traceback.extract_tb(e.__traceback__)
            for fr in tb[1:][-3:]:
                print("       at %s:%d %s" % (os.path.basename(fr.filename), fr.lineno, fr.line),
                      flush=True)
        else:
            passed += 1
            print("PASS %s (%.1fs)" % (full, time.monotonic() - start), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
