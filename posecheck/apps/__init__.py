"""Applications: the pipelines that wire inputs, pose, core and outputs together.

`analyse` (one recorded video), `batch` with its engines (`batch_local`, `batch_ray`) and table
writer (`batch_output`), `live` (a camera), `routine` (a plan of exercise blocks, live or on a
video), and `agreement` (how counted pauses agree with labelled ones, over many clips).
"""
