"""The parts of the plan folder :func:`bundleopt.report.write_report` writes, one module per job.

``plan_json`` (plan.json), ``plots`` (the PNG figures), ``sections`` (sentences and
tables shared by the two pages), ``markdown`` (report.md), (report.html is :mod:`bundleopt.plan_parts.report_html`),
``csv_safe`` (formula-safe CSV cells).
"""
