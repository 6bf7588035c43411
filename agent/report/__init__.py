"""After-show reports (复盘): figures from the records store as XLSX, CSV and HTML."""
