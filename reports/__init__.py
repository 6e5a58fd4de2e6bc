"""Turns a results database into tables, plots, HTML and Markdown; never imports an adapter."""
