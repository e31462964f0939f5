"""Official documents (公文) written as Word files from templates: layout, templates, rendering.

No database work here: the services gather a document's fields, this package writes them into
a template a bureau may edit in Word, and converts the result to PDF when asked.
"""
