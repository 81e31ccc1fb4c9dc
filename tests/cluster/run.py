#!/usr/bin/env python3
"""run.py - run the cluster tests against the cluster that ./devstack cluster up started.

  tests/cluster/run.py [PATTERN...]     only tests whose name contains a PATTERN

Every module test_*.py here is read in name order, and its test_* functions
run in the order they are written.  The last line is "N passed, M failed".
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(HERE, "..", "e2e")
sys.path.insert(0, E2E)
sys.path.insert(0, HERE)

# tests/e2e/run.py, the same runner, pointed at this folder.
spec = importlib.util.spec_from_file_location("e2e_run", os.path.join(E2E, "run.py"))
e2e_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e_run)

if __name__ == "__main__":
    e2e_run.HERE = HERE
    sys.exit(e2e_run.main())
