"""Exports: stored values written out as JSON, JSON Lines, CSV, XLSX and IATI XML, and named.

One value encoder (``encode``), one writer per format (``writers``) and one file-name rule
(``names``) serve the page renderings, the API's list downloads and the bulk snapshot
(``snapshot``). Writers take column keys and rows (dicts), never a web request or page: this
package imports nothing from ``iatiportal.web`` (the web adapts its pages to it).
"""
