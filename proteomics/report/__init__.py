"""Plots (matplotlib) and self-contained HTML reports (jinja2). The only stage that imports them."""
