"""The demo bureau: a fictitious province's unit tree, clerks and a living day of cases.

`build.build_demo` writes it; `simulate` walks each case through the lifecycle in memory so a
hundred thousand cases take seconds, not the hours the per-case services would need.
"""
