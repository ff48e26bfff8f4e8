"""Outputs: what posecheck writes or shows from the core's results, with no analysis of its own.

`overlay` (the annotated video), `report` (report.json, timeline.csv, the angle plot), `review/`
(the HTML review pages), `balance` and `html_report` (the balance report over sessions),
`history` (the SQLite session store they read) and `outdir` (preparing an output folder).
"""
