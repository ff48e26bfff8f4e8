"""The review pages: `report.html` for one analysed clip, `index.html` for a batch folder.

Both are outputs like the overlay: built from files already written (report.json, timeline.csv,
batch.csv), with no analysis of their own. See `page.py` for why hand-written JS + SVG.
"""

from posecheck.outputs.review.index import write_batch_index
from posecheck.outputs.review.page import PAGE_NAME, render_review_html, write_review_page

__all__ = ["PAGE_NAME", "render_review_html", "write_batch_index", "write_review_page"]
