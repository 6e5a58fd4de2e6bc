"""trackbench's results: their schema, their store in the reference tracker, their provenance.

Data flows one way: `scenarios` writes through `results.store`, `reports` reads through
`results.cells`, and neither imports the other. Standard library only at import (the
worker imports `results.schema` in every framework's environment); the tracker and pandas
load when a database is opened.

    schema      every param, field, outcome, fidelity and phase name, and the version
    errors      UsageError: bad input, one line, from any layer
    database    the default database path; opening a results database
    store       writing a suite and its cells; what a suite already holds (for --resume)
    cells       every cell and suite run read back as one table
    provenance  the machine, OS, CPU, Python and commit a suite runs on

Committed reference result sets will live under `results/reference/`.
"""
