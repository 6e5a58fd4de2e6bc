"""Workloads as data plus one function each, the worker and runner that execute them, the CLI."""
