"""CSV imports: the file's columns per type, streaming CSV records, row validation, and the job that applies them."""
